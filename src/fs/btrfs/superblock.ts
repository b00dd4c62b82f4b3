/**
 * The btrfs superblock and its mirrors.
 *
 * Reference: btrfs on-disk format, "Superblock" (btrfs.readthedocs.io, On-disk format) and
 * linux v6.6 include/uapi/linux/btrfs_tree.h (struct btrfs_super_block), fs/btrfs/disk-io.c
 * (btrfs_read_dev_one_super: a copy is valid when its bytenr field equals where it was read,
 * its magic is right and its checksum over bytes [32, 4096) matches).
 */
import { createHash } from 'node:crypto';
import type { BlockSource } from '../../disk/index.ts';
import { crc32c } from '../../util/crc32.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import { equalBytes, u64le, uuidBE, view } from '../../util/bytes.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** BTRFS_SUPER_INFO_SIZE: every copy occupies this many bytes. */
export const SUPER_INFO_BYTES = 4096;
/** Primary copy and the two mirrors (btrfs_sb_offset(): 64 KiB, then 16 KiB << 12 * mirror). */
export const SUPER_MIRROR_OFFSETS = [64 * KiB, 64 * MiB, 256 * GiB] as const;
export const MAGIC_OFFSET = 0x40;
/** "_BHRfS_M" little-endian. */
export const BTRFS_MAGIC = new TextEncoder().encode('_BHRfS_M');
/** The checksum field is 32 bytes; the checksummed area starts after it. */
export const CSUM_BYTES = 32;
/** BTRFS_SYSTEM_CHUNK_ARRAY_SIZE. */
export const SYS_CHUNK_ARRAY_MAX_BYTES = 2048;
const SYS_CHUNK_ARRAY_OFFSET = 0x32b;
const LABEL_OFFSET = 0x12b;
const LABEL_BYTES = 256;
const DEV_ITEM_OFFSET = 0xc9;
const METADATA_UUID_OFFSET = 0x23b;

/** Largest node size btrfs allows (BTRFS_MAX_METADATA_BLOCKSIZE). */
export const MAX_NODE_BYTES = 64 * KiB;
/** Smallest sector size btrfs allows. */
export const MIN_SECTOR_BYTES = 4 * KiB;
/** Largest sector size btrfs allows (the largest page size, 64 KiB). */
export const MAX_SECTOR_BYTES = 64 * KiB;
/** BTRFS_MAX_LEVEL: tree levels are 0..7. */
export const BTRFS_MAX_LEVEL = 8;

export const CSUM_TYPES = ['crc32c', 'xxhash64', 'sha256', 'blake2b'] as const;
export type CsumType = (typeof CSUM_TYPES)[number];

/** Incompatible feature bits (BTRFS_FEATURE_INCOMPAT_*) and whether this reader handles them. */
export const INCOMPAT_FEATURES: ReadonlyArray<{ bit: number; name: string; supported: boolean }> = [
  { bit: 0, name: 'mixed_backref', supported: true },
  { bit: 1, name: 'default_subvol', supported: true },
  { bit: 2, name: 'mixed_groups', supported: true },
  { bit: 3, name: 'compress_lzo', supported: true },
  { bit: 4, name: 'compress_zstd', supported: true },
  { bit: 5, name: 'big_metadata', supported: true },
  { bit: 6, name: 'extended_iref', supported: true },
  { bit: 7, name: 'raid56', supported: true },
  { bit: 8, name: 'skinny_metadata', supported: true },
  { bit: 9, name: 'no_holes', supported: true },
  { bit: 10, name: 'metadata_uuid', supported: true },
  { bit: 11, name: 'raid1c34', supported: true },
  // Zoned filesystems keep their superblocks in log zones, not at the fixed offsets read here.
  { bit: 12, name: 'zoned', supported: false },
  { bit: 13, name: 'extent_tree_v2', supported: false },
  { bit: 14, name: 'raid_stripe_tree', supported: false },
  { bit: 16, name: 'simple_quota', supported: true },
];
const INCOMPAT_METADATA_UUID = 1n << 10n;

export interface Superblock {
  /** Where this copy was read. */
  offset: number;
  fsid: Uint8Array;
  /** The fsid that tree blocks carry (metadata_uuid when that feature is on). */
  metadataFsid: Uint8Array;
  uuid: string;
  label: string;
  generation: number;
  root: number;
  rootLevel: number;
  chunkRoot: number;
  chunkRootLevel: number;
  logRoot: number;
  totalBytes: number;
  numDevices: number;
  devid: number;
  sectorSize: number;
  nodeSize: number;
  csumType: CsumType;
  incompat: bigint;
  sysChunkArray: Uint8Array;
}

/** Checksum of `data` as btrfs stores it in a 32-byte field (crc32c little-endian, or sha256). */
export function btrfsChecksum(type: CsumType, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(CSUM_BYTES);
  if (type === 'crc32c') view(out).setUint32(0, crc32c(data), true);
  else if (type === 'sha256') out.set(createHash('sha256').update(data).digest());
  else throw new UnsupportedError(`btrfs checksum type ${type} is not supported (crc32c and sha256 are)`);
  return out;
}

export function checksumOk(type: CsumType, block: Uint8Array): boolean {
  return equalBytes(btrfsChecksum(type, block.subarray(CSUM_BYTES)), block.subarray(0, CSUM_BYTES));
}

function hasMagic(b: Uint8Array): boolean {
  return b.length >= SUPER_INFO_BYTES && equalBytes(b.subarray(MAGIC_OFFSET, MAGIC_OFFSET + 8), BTRFS_MAGIC);
}

/** Parses one copy; throws CorruptError/UnsupportedError when it is unusable. */
export function parseSuperblock(b: Uint8Array, offset: number): Superblock {
  const dv = view(b);
  const where = { location: `superblock at byte ${offset}` };
  const bytenr = dv.getBigUint64(0x30, true);
  if (bytenr !== BigInt(offset)) throw new CorruptError(`btrfs superblock at ${offset} records bytenr ${bytenr}`, where);
  const csumCode = dv.getUint16(0xc4, true);
  const csumType = CSUM_TYPES[csumCode];
  if (csumType === undefined) throw new CorruptError(`btrfs superblock: unknown checksum type ${csumCode}`, where);
  if (!checksumOk(csumType, b)) throw new CorruptError('btrfs superblock checksum mismatch', where);
  const incompat = dv.getBigUint64(0xbc, true);
  let known = 0n;
  for (const f of INCOMPAT_FEATURES) {
    known |= 1n << BigInt(f.bit);
    if (!f.supported && incompat & (1n << BigInt(f.bit))) throw new UnsupportedError(`btrfs incompatible feature ${f.name} is not supported`, where);
  }
  if (incompat & ~known) throw new UnsupportedError(`btrfs unknown incompatible feature bits 0x${(incompat & ~known).toString(16)}`, where);
  const sectorSize = dv.getUint32(0x90, true);
  const nodeSize = dv.getUint32(0x94, true);
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (!pow2(sectorSize) || sectorSize < MIN_SECTOR_BYTES || sectorSize > MAX_SECTOR_BYTES) throw new CorruptError(`btrfs sector size ${sectorSize} is invalid`, where);
  if (!pow2(nodeSize) || nodeSize < sectorSize || nodeSize > MAX_NODE_BYTES) throw new CorruptError(`btrfs node size ${nodeSize} is invalid (at most ${MAX_NODE_BYTES})`, where);
  const rootLevel = b[0xc6]!;
  const chunkRootLevel = b[0xc7]!;
  if (rootLevel >= BTRFS_MAX_LEVEL || chunkRootLevel >= BTRFS_MAX_LEVEL) throw new CorruptError(`btrfs tree level ${Math.max(rootLevel, chunkRootLevel)} exceeds ${BTRFS_MAX_LEVEL - 1}`, where);
  const sysSize = dv.getUint32(0xa0, true);
  if (sysSize > SYS_CHUNK_ARRAY_MAX_BYTES) throw new CorruptError(`btrfs sys_chunk_array_size ${sysSize} exceeds ${SYS_CHUNK_ARRAY_MAX_BYTES}`, where);
  const fsid = b.slice(0x20, 0x30);
  const labelBytes = b.subarray(LABEL_OFFSET, LABEL_OFFSET + LABEL_BYTES);
  const nul = labelBytes.indexOf(0);
  const u64 = (at: number, what: string) => u64le(dv, at, `btrfs superblock ${what}`);
  return {
    offset,
    fsid,
    metadataFsid: incompat & INCOMPAT_METADATA_UUID ? b.slice(METADATA_UUID_OFFSET, METADATA_UUID_OFFSET + 16) : fsid,
    uuid: uuidBE(fsid),
    label: new TextDecoder().decode(labelBytes.subarray(0, nul < 0 ? LABEL_BYTES : nul)),
    generation: u64(0x48, 'generation'),
    root: u64(0x50, 'root'),
    rootLevel,
    chunkRoot: u64(0x58, 'chunk_root'),
    chunkRootLevel,
    logRoot: u64(0x60, 'log_root'),
    totalBytes: u64(0x70, 'total_bytes'),
    numDevices: u64(0x88, 'num_devices'),
    devid: u64(DEV_ITEM_OFFSET, 'dev_item.devid'),
    sectorSize,
    nodeSize,
    csumType,
    incompat,
    sysChunkArray: b.slice(SYS_CHUNK_ARRAY_OFFSET, SYS_CHUNK_ARRAY_OFFSET + sysSize),
  };
}

/**
 * Reads every copy that fits the volume and returns the valid one with the highest generation
 * (as btrfs-progs' btrfs_read_dev_super does), with an issue for a bad primary or bad mirrors.
 * The primary's magic decides the format: without it this is not btrfs.
 */
export async function readSuperblock(source: BlockSource): Promise<{ sb: Superblock; issues: Issue[] }> {
  const primaryAt = SUPER_MIRROR_OFFSETS[0];
  if (source.size < primaryAt + SUPER_INFO_BYTES) throw new NotThisFormatError(`${source.description}: too small for a btrfs superblock`);
  const primary = await source.read(primaryAt, SUPER_INFO_BYTES);
  if (!hasMagic(primary)) throw new NotThisFormatError(`${source.description}: no btrfs magic at ${primaryAt + MAGIC_OFFSET}`);
  const issues: Issue[] = [];
  const valid: Superblock[] = [];
  let primaryError: unknown;
  for (const at of SUPER_MIRROR_OFFSETS) {
    if (at + SUPER_INFO_BYTES > source.size) continue;
    const b = at === primaryAt ? primary : await source.read(at, SUPER_INFO_BYTES);
    if (at !== primaryAt && !hasMagic(b)) continue;
    try {
      valid.push(parseSuperblock(b, at));
    } catch (err) {
      if (err instanceof UnsupportedError) throw err;
      if (at === primaryAt) primaryError = err;
      issues.push({ severity: 'warning', code: at === primaryAt ? 'btrfs.superblock-primary' : 'btrfs.superblock-mirror', message: err instanceof Error ? err.message : String(err), location: `superblock at byte ${at}` });
    }
  }
  if (valid.length === 0) {
    const why = primaryError instanceof Error ? `: ${primaryError.message}` : '';
    throw new CorruptError(`btrfs: no valid superblock copy (primary${why})`, { location: `superblock at byte ${primaryAt}`, cause: primaryError });
  }
  let best = valid[0]!;
  for (const s of valid) if (s.generation > best.generation) best = s;
  if (best.offset !== primaryAt) {
    issues.push({ severity: 'warning', code: 'btrfs.superblock-mirror-used', message: `using the superblock mirror at byte ${best.offset} (generation ${best.generation})`, location: `superblock at byte ${best.offset}` });
  }
  return { sb: best, issues };
}
