/**
 * The btrfs chunk map: logical addresses to physical byte offsets on this device.
 *
 * Reference: btrfs on-disk format, "Chunk tree" and "CHUNK_ITEM" (btrfs.readthedocs.io);
 * linux v6.6 include/uapi/linux/btrfs_tree.h (struct btrfs_chunk, btrfs_stripe, block group
 * type bits), fs/btrfs/volumes.c (btrfs_read_sys_array bootstraps from the superblock's
 * sys_chunk_array, then btrfs_read_chunk_tree reads every CHUNK_ITEM).
 *
 * Profiles: SINGLE and DUP map one-to-one (DUP's copies are both on this device; the first is
 * read). RAID1/RAID1C3/RAID1C4 are mirrors, so any stripe on this device serves a read. Striped
 * and parity profiles (RAID0, RAID10, RAID5, RAID6) need the other devices: reads in them are
 * UnsupportedError naming the profile.
 */
import { CorruptError, UnsupportedError } from '../../util/errors.ts';
import { view } from '../../util/bytes.ts';
import { DISK_KEY_BYTES, parseDiskKey, type Key } from './btree.ts';
import type { Superblock } from './superblock.ts';

export const CHUNK_ITEM_KEY = 228;
export const CHUNK_ITEM_FIXED_BYTES = 48;
export const STRIPE_BYTES = 32;
/** Chunks one filesystem may have (1M chunks of 1 GiB is an exabyte). */
export const MAX_CHUNKS = 1 << 20;
/** Stripes in one chunk (the kernel caps a chunk item at a tree leaf; RAID10 over 256 devices). */
export const MAX_STRIPES_PER_CHUNK = 256;

const PROFILE_BITS: ReadonlyArray<[bit: number, name: string]> = [
  [1 << 3, 'RAID0'],
  [1 << 4, 'RAID1'],
  [1 << 5, 'DUP'],
  [1 << 6, 'RAID10'],
  [1 << 7, 'RAID5'],
  [1 << 8, 'RAID6'],
  [1 << 9, 'RAID1C3'],
  [1 << 10, 'RAID1C4'],
];
/** Profiles whose every stripe holds the whole chunk. */
const MIRRORED = new Set(['SINGLE', 'DUP', 'RAID1', 'RAID1C3', 'RAID1C4']);

export interface Stripe {
  devid: number;
  offset: number;
}

export interface Chunk {
  logical: number;
  length: number;
  type: number;
  profile: string;
  stripes: Stripe[];
}

/** Whether every read in a chunk of this profile can be served from one stripe on this device. */
export function isReadableProfile(profile: string): boolean {
  return MIRRORED.has(profile);
}

export function profileName(type: number): string {
  for (const [bit, name] of PROFILE_BITS) if (type & bit) return name;
  return 'SINGLE';
}

/** Parses a chunk item at the start of `b`; returns it and its size in bytes. */
export function parseChunkItem(b: Uint8Array, logical: number, location: string): { chunk: Chunk; bytes: number } {
  if (b.length < CHUNK_ITEM_FIXED_BYTES) throw new CorruptError('btrfs chunk item truncated', { location });
  const dv = view(b);
  const numStripes = dv.getUint16(44, true);
  const bytes = CHUNK_ITEM_FIXED_BYTES + numStripes * STRIPE_BYTES;
  if (numStripes === 0 || numStripes > MAX_STRIPES_PER_CHUNK || bytes > b.length) throw new CorruptError(`btrfs chunk item with ${numStripes} stripes does not fit`, { location });
  const length = dv.getBigUint64(0, true);
  if (length === 0n || BigInt(logical) + length > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`btrfs chunk at ${logical} has length ${length}`, { location });
  const type = Number(dv.getBigUint64(24, true) & 0xffffffffn);
  const stripes: Stripe[] = [];
  for (let i = 0; i < numStripes; i++) {
    const at = CHUNK_ITEM_FIXED_BYTES + i * STRIPE_BYTES;
    const devid = dv.getBigUint64(at, true);
    const offset = dv.getBigUint64(at + 8, true);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER) || devid > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`btrfs chunk at ${logical}: stripe ${i} out of range`, { location });
    stripes.push({ devid: Number(devid), offset: Number(offset) });
  }
  return { chunk: { logical, length: Number(length), type, profile: profileName(type), stripes }, bytes };
}

/** The (key, chunk) pairs of the superblock's sys_chunk_array. */
export function sysChunks(sb: Superblock): Chunk[] {
  const out: Chunk[] = [];
  const a = sb.sysChunkArray;
  let at = 0;
  while (at < a.length) {
    const location = `sys_chunk_array +${at}`;
    if (at + DISK_KEY_BYTES > a.length) throw new CorruptError('btrfs sys_chunk_array: truncated key', { location });
    const key: Key = parseDiskKey(view(a), at);
    if (key.type !== CHUNK_ITEM_KEY) throw new CorruptError(`btrfs sys_chunk_array: key type ${key.type} is not CHUNK_ITEM`, { location });
    at += DISK_KEY_BYTES;
    if (key.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`btrfs sys chunk logical ${key.offset} out of range`, { location });
    const { chunk, bytes } = parseChunkItem(a.subarray(at), Number(key.offset), location);
    out.push(chunk);
    at += bytes;
  }
  if (out.length === 0) throw new CorruptError('btrfs sys_chunk_array is empty', { location: 'superblock' });
  return out;
}

/** A piece of a logical range mapped onto this device. */
export interface PhysicalRun {
  physical: number;
  bytes: number;
}

export class ChunkMap {
  readonly #chunks: Chunk[];
  readonly #devid: number;

  /** `chunks` may be in any order; overlapping chunks are corrupt. */
  constructor(chunks: readonly Chunk[], devid: number) {
    if (chunks.length > MAX_CHUNKS) throw new CorruptError(`btrfs: more than ${MAX_CHUNKS} chunks`, { location: 'chunk tree' });
    this.#chunks = [...chunks].sort((a, b) => a.logical - b.logical);
    this.#devid = devid;
    for (let i = 1; i < this.#chunks.length; i++) {
      const prev = this.#chunks[i - 1]!;
      if (prev.logical + prev.length > this.#chunks[i]!.logical) throw new CorruptError(`btrfs chunks at ${prev.logical} and ${this.#chunks[i]!.logical} overlap`, { location: 'chunk tree' });
    }
  }

  get chunks(): readonly Chunk[] {
    return this.#chunks;
  }

  #find(logical: number): Chunk | undefined {
    let lo = 0;
    let hi = this.#chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.#chunks[mid]!;
      if (logical < c.logical) hi = mid - 1;
      else if (logical >= c.logical + c.length) lo = mid + 1;
      else return c;
    }
    return undefined;
  }

  /** Maps [logical, logical + length) to physical runs; unmapped addresses are CorruptError. */
  map(logical: number, length: number): PhysicalRun[] {
    const runs: PhysicalRun[] = [];
    let at = logical;
    const end = logical + length;
    while (at < end) {
      const c = this.#find(at);
      const location = `logical ${at}`;
      if (!c) throw new CorruptError(`btrfs logical address ${at} is in no chunk`, { location });
      if (!MIRRORED.has(c.profile)) throw new UnsupportedError(`btrfs ${c.profile} chunk at logical ${c.logical} is not supported (its data is spread over several devices)`, { location });
      const stripe = c.stripes.find((s) => s.devid === this.#devid);
      if (!stripe) throw new UnsupportedError(`btrfs ${c.profile} chunk at logical ${c.logical} has no copy on device ${this.#devid}`, { location });
      const bytes = Math.min(end, c.logical + c.length) - at;
      const physical = stripe.offset + (at - c.logical);
      const last = runs[runs.length - 1];
      if (last && last.physical + last.bytes === physical) last.bytes += bytes;
      else runs.push({ physical, bytes });
      at += bytes;
    }
    return runs;
  }
}
