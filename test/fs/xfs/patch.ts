/**
 * Byte-level surgery on a real (mkfs-made) XFS image in memory, for hostile-structure tests:
 * find an inode, rewrite its fork, plant a bmbt block, and re-seal v5 CRCs so that the structural
 * check under test is what fires (a CRC mismatch alone only produces an issue).
 */
import { readFileSync } from 'node:fs';
import { MemorySource } from '../../../src/disk/memory-source.ts';
import { openXfs, type XfsReader } from '../../../src/fs/xfs/index.ts';
import { inodeByteOffset } from '../../../src/fs/xfs/geometry.ts';
import { crc32c } from '../../../src/util/crc32.ts';
import type { PathFileSystem } from '../../../src/fs/path-fs.ts';
import type { Superblock } from '../../../src/fs/xfs/superblock.ts';
import { xfsFixture } from './fixtures.ts';
import { walk } from '../../../src/fs/walk.ts';
import { HullscanError } from '../../../src/util/errors.ts';

export const TINY_TREE = { dirSizes: [5, 60, 200], bigFileBytes: 100_000 };

export async function tinyImage(mkfsArgs: string[] = []): Promise<Uint8Array | { skip: string }> {
  const fx = await xfsFixture(mkfsArgs.length ? 'tiny-variant' : 'tiny', TINY_TREE, mkfsArgs, 16);
  if ('skip' in fx) return fx;
  return new Uint8Array(readFileSync(fx.image));
}

export async function open(bytes: Uint8Array): Promise<PathFileSystem> {
  return openXfs(new MemorySource(bytes));
}

export interface Located {
  sb: Superblock;
  ino: number;
  /** Byte offset of the inode in the image. */
  at: number;
}

/** Finds the inode of `path` (lstat) and where it lives. */
export async function locate(bytes: Uint8Array, path: string): Promise<Located> {
  const fs = await open(bytes);
  const reader = fs.reader as XfsReader;
  const ino = (await fs.lstat(path)).ino;
  return { sb: reader.sb, ino, at: inodeByteOffset(reader.sb, ino) };
}

/** Recomputes a CRC-32C field (little-endian) over [start, start + length). */
export function reseal(bytes: Uint8Array, start: number, length: number, crcOffset: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  dv.setUint32(start + crcOffset, 0, true);
  dv.setUint32(start + crcOffset, crc32c(bytes.subarray(start, start + length)), true);
}

export function resealInode(bytes: Uint8Array, loc: Located): void {
  if (loc.sb.version === 5) reseal(bytes, loc.at, loc.sb.inodeBytes, 100);
}

export function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Offset of the data fork of a v3 inode. */
export const V3_FORK = 176;

/** Packs an extent record (xfs_bmbt_rec). */
export function packExtent(out: DataView, off: number, fileBlock: number, fsBlock: number, blocks: number, unwritten = false): void {
  const l0 = (BigInt(unwritten ? 1 : 0) << 63n) | (BigInt(fileBlock) << 9n) | (BigInt(fsBlock) >> 43n);
  const l1 = ((BigInt(fsBlock) & ((1n << 43n) - 1n)) << 21n) | BigInt(blocks);
  out.setBigUint64(off, l0);
  out.setBigUint64(off + 8, l1);
}

/**
 * Writes a v5 'BMA3' block at filesystem block `fsb` (AG 0, so fsb is also the linear block):
 * a leaf with `records`, or a node whose pointers are `ptrs`.
 */
export function plantBmbtBlock(bytes: Uint8Array, sb: Superblock, fsb: number, owner: number, level: number, body: { ptrs?: number[]; records?: Array<[number, number, number]> }): void {
  const at = fsb * sb.blockBytes;
  bytes.fill(0, at, at + sb.blockBytes);
  const d = dv(bytes);
  d.setUint32(at, 0x424d4133);
  d.setUint16(at + 4, level);
  const n = body.ptrs?.length ?? body.records?.length ?? 0;
  d.setUint16(at + 6, n);
  d.setBigUint64(at + 8, 0xffffffffffffffffn);
  d.setBigUint64(at + 16, 0xffffffffffffffffn);
  d.setBigUint64(at + 24, BigInt((at / 512) | 0));
  bytes.set(sb.metaUuid, at + 40);
  d.setBigUint64(at + 56, BigInt(owner));
  const hdr = 72;
  if (body.records) body.records.forEach(([fo, fb, c], i) => packExtent(d, at + hdr + i * 16, fo, fb, c));
  if (body.ptrs) {
    const maxRecs = Math.floor((sb.blockBytes - hdr) / 16);
    body.ptrs.forEach((p, i) => {
      d.setBigUint64(at + hdr + i * 8, BigInt(i));
      d.setBigUint64(at + hdr + maxRecs * 8 + i * 8, BigInt(p));
    });
  }
  reseal(bytes, at, sb.blockBytes, 64);
}

/** Turns an inode's data fork into a btree root (level, pointers), keeping v5 CRCs valid. */
export function makeBtreeRoot(bytes: Uint8Array, loc: Located, level: number, ptrs: number[]): void {
  const d = dv(bytes);
  const fork = loc.at + V3_FORK;
  const forkBytes = loc.sb.inodeBytes - V3_FORK;
  bytes.fill(0, fork, fork + forkBytes);
  d.setUint8(loc.at + 5, 3);
  d.setUint16(fork, level);
  d.setUint16(fork + 2, ptrs.length);
  const maxRecs = Math.floor((forkBytes - 4) / 16);
  ptrs.forEach((p, i) => {
    d.setBigUint64(fork + 4 + i * 8, BigInt(i));
    d.setBigUint64(fork + 4 + maxRecs * 8 + i * 8, BigInt(p));
  });
  resealInode(bytes, loc);
}

/** The first extent record of an extents-format inode: [fileBlock, fsBlock, blocks]. */
export function firstExtent(bytes: Uint8Array, loc: Located): [number, number, number] {
  const d = dv(bytes);
  const p = loc.at + V3_FORK;
  const h0 = d.getUint32(p), h1 = d.getUint32(p + 4), h2 = d.getUint32(p + 8), h3 = d.getUint32(p + 12);
  return [(h0 & 0x7fffffff) * 2 ** 23 + (h1 >>> 9), (h1 & 0x1ff) * 2 ** 43 + h2 * 2 ** 11 + (h3 >>> 21), h3 & 0x1fffff];
}

/** A block near the end of AG 0 that mkfs left free in the tiny image (checked by the caller). */
export function spareBlock(sb: Superblock, k = 0): number {
  return sb.agBlocks - 16 - k;
}

/** Opens, walks everything, reads every file and link; per-entry typed errors are expected. */
export async function exercise(bytes: Uint8Array): Promise<void> {
  const fs = await open(bytes);
  for await (const e of walk(fs, { maxEntries: 5000 })) {
    try {
      if (e.stat.type === 'file') await fs.openInode(e.entry.ino, e.stat).read(0, Math.min(e.stat.size, 4 * 1024 * 1024));
      if (e.stat.type === 'symlink') await fs.reader.readlink(e.entry.ino);
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err;
    }
  }
}
