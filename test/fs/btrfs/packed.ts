/**
 * Small btrfs images for hostile-input tests, packed: mkfs.btrfs needs at least 256 MiB, but a
 * small tree uses a few MiB of it. A PackedImage keeps only the non-zero 4 KiB pages (plus every
 * page of every tree block and superblock, so each lies contiguous in `bytes`), and PackedSource
 * reads it back as the full-size volume. Mutating `bytes` mutates the volume, so the seeded
 * fuzzer and byte-by-byte patches work on a few MiB instead of copying 256 MiB per case.
 *
 * Tree block locations come from the real tool: `btrfs inspect-internal dump-tree` prints every
 * leaf and node with its logical address; the reader's chunk map turns that into a physical one.
 */
import { readFileSync } from 'node:fs';
import type { BlockSource, SourceStats } from '../../../src/disk/index.ts';
import { openBtrfs, type BtrfsReader } from '../../../src/fs/btrfs/index.ts';
import { btrfsChecksum, CSUM_BYTES, SUPER_INFO_BYTES, SUPER_MIRROR_OFFSETS } from '../../../src/fs/btrfs/superblock.ts';
import { SourceError } from '../../../src/util/errors.ts';
import { run } from '../../helpers/tools.ts';

const PAGE = 4096;

export interface PackedLayout {
  /** Size of the volume the pack stands for. */
  size: number;
  /** Physical page index -> offset in `bytes`. */
  pages: Map<number, number>;
  nodeSize: number;
  /** Physical offset of every tree block the filesystem has (first copy), by logical address. */
  nodes: Map<number, number>;
  /** Superblock copies inside the volume (physical offsets). */
  supers: number[];
}

export interface PackedImage {
  layout: PackedLayout;
  bytes: Uint8Array;
}

export class PackedSource implements BlockSource {
  readonly size: number;
  readonly sectorSize = 512;
  readonly description = 'packed btrfs test image';
  readonly #layout: PackedLayout;
  readonly #bytes: Uint8Array;
  readonly #stats: SourceStats = { reads: 0, bytesRead: 0 };

  constructor(layout: PackedLayout, bytes: Uint8Array) {
    this.#layout = layout;
    this.#bytes = bytes;
    this.size = layout.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new SourceError(`read [${offset}, +${length}) outside the ${this.size}-byte packed image`);
    this.#stats.reads++;
    this.#stats.bytesRead += length;
    const out = new Uint8Array(length);
    for (let at = offset; at < offset + length; ) {
      const page = Math.floor(at / PAGE);
      const inPage = at - page * PAGE;
      const n = Math.min(PAGE - inPage, offset + length - at);
      const packed = this.#layout.pages.get(page);
      if (packed !== undefined) {
        // The fuzzer may truncate the pack: missing bytes are a failed read, like a short file.
        if (packed + inPage + n > this.#bytes.length) throw new SourceError(`packed page ${page} is truncated`);
        out.set(this.#bytes.subarray(packed + inPage, packed + inPage + n), at - offset);
      }
      at += n;
    }
    return out;
  }

  stats(): SourceStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {}
}

/** Packs a btrfs image file, locating its tree blocks with dump-tree. */
export async function packImage(path: string): Promise<PackedImage> {
  const file = new Uint8Array(readFileSync(path));
  const full = { size: file.length, pages: new Map<number, number>(), nodeSize: PAGE, nodes: new Map<number, number>(), supers: [] as number[] };
  const ident = new Map<number, number>();
  for (let p = 0; p * PAGE < file.length; p++) ident.set(p, p * PAGE);
  const fs = await openBtrfs(new PackedSource({ ...full, pages: ident }, file));
  const reader = fs.reader as BtrfsReader;
  const nodeSize = reader.sb.nodeSize;
  const nodes = new Map<number, number>();
  const stdout = await run('btrfs', ['inspect-internal', 'dump-tree', path]);
  for (const m of stdout.matchAll(/^(?:leaf|node) (\d+) /gm)) {
    const logical = Number(m[1]);
    nodes.set(logical, reader.chunkMap.map(logical, nodeSize)[0]!.physical);
  }
  const keep = new Set<number>();
  const isZero = (p: number) => {
    for (let i = p * PAGE; i < Math.min(file.length, (p + 1) * PAGE); i++) if (file[i] !== 0) return false;
    return true;
  };
  for (let p = 0; p * PAGE < file.length; p++) if (!isZero(p)) keep.add(p);
  for (const phys of nodes.values()) for (let i = 0; i < nodeSize / PAGE; i++) keep.add(phys / PAGE + i);
  const supers = SUPER_MIRROR_OFFSETS.filter((o) => o + SUPER_INFO_BYTES <= file.length && keep.has(o / PAGE));
  const sorted = [...keep].sort((a, b) => a - b);
  const bytes = new Uint8Array(sorted.length * PAGE);
  const pages = new Map<number, number>();
  sorted.forEach((p, i) => {
    pages.set(p, i * PAGE);
    bytes.set(file.subarray(p * PAGE, (p + 1) * PAGE), i * PAGE);
  });
  return { layout: { size: file.length, pages, nodeSize, nodes, supers }, bytes };
}

/** Offset in `bytes` of a physical volume offset (which must be packed). */
export function packedAt(layout: PackedLayout, physical: number): number {
  const base = layout.pages.get(Math.floor(physical / PAGE));
  if (base === undefined) throw new Error(`physical ${physical} is not in the pack`);
  return base + (physical % PAGE);
}

/** Mutation regions for the fuzzer: the primary superblock and every tree block. */
export function metadataRegions(layout: PackedLayout): Array<[number, number]> {
  const regions: Array<[number, number]> = [[packedAt(layout, SUPER_MIRROR_OFFSETS[0]), packedAt(layout, SUPER_MIRROR_OFFSETS[0]) + SUPER_INFO_BYTES]];
  for (const phys of layout.nodes.values()) regions.push([packedAt(layout, phys), packedAt(layout, phys) + layout.nodeSize]);
  return regions;
}

/** Recomputes the crc32c of a tree block or superblock at packed offset `at`. */
export function reseal(bytes: Uint8Array, at: number, blockBytes: number): void {
  if (at + blockBytes > bytes.length) return;
  bytes.set(btrfsChecksum('crc32c', bytes.subarray(at + CSUM_BYTES, at + blockBytes)), at);
}

/** Reseals every tree block and superblock copy (so mutations reach the parsers behind the checksums). */
export function resealAll(layout: PackedLayout, bytes: Uint8Array): void {
  for (const s of layout.supers) reseal(bytes, packedAt(layout, s), SUPER_INFO_BYTES);
  for (const phys of layout.nodes.values()) reseal(bytes, packedAt(layout, phys), layout.nodeSize);
}

export function openPacked(img: PackedImage, bytes = img.bytes): ReturnType<typeof openBtrfs> {
  return openBtrfs(new PackedSource(img.layout, bytes));
}
