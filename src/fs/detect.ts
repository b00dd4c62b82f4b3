/**
 * Filesystem (and other content) signature detection on a volume, by magic numbers.
 *
 * References, one per format:
 * - ext2/3/4: the ext4 disk layout (kernel Documentation/filesystems/ext4/super.rst); the
 *   ext2/ext3/ext4 split follows libblkid (util-linux libblkid/src/superblocks/ext.c): ext4 when
 *   a feature beyond ext3's set is on, ext3 when there is a journal, else ext2.
 * - XFS: XFS Algorithms & Data Structures, "Superblocks" (sb_magicnum "XFSB" at byte 0).
 * - btrfs: btrfs on-disk format, "Superblock" (primary copy at 64 KiB, magic "_BHRfS_M" at +64).
 * - vfat: Microsoft FAT specification (2005), section 3 (BPB) and 3.5 (FAT type by cluster count).
 * - swap: Linux include/linux/swap.h union swap_header ("SWAPSPACE2" ends the first page).
 * - LUKS: LUKS1 on-disk format spec 1.2.3 and LUKS2 on-disk format (binary header).
 * - LVM2 PV: lvm2 lib/label/label.h ("LABELONE" in one of the first four sectors).
 */
import type { BlockSource } from '../disk/index.ts';
import { ascii, cstring, uuidBE, view } from '../util/bytes.ts';
import { HullscanError } from '../util/errors.ts';
import { KiB } from '../util/units.ts';
import { formatLvmId, parseLabelSector, LVM_LABEL_ID, LVM_LABEL_SCAN_SECTORS, LVM_LABEL_TYPE, LVM_SECTOR_BYTES } from '../volume/lvm/label.ts';

export interface FsSignature {
  type: 'ext2' | 'ext3' | 'ext4' | 'xfs' | 'btrfs' | 'vfat' | 'swap' | 'luks' | 'lvm2-pv' | 'unknown';
  label?: string;
  uuid?: string;
  version?: string;
  blockSize?: number;
}

/** One read covers every superblock we look at: btrfs's at 64 KiB is the farthest. */
const PROBE_BYTES = 64 * KiB + 4 * KiB;
const BTRFS_SUPER_OFFSET = 64 * KiB;
const EXT_SUPER_OFFSET = 1024;
/** Swap's signature ends the first page; page sizes Linux uses. */
const SWAP_PAGE_SIZES = [4096, 8192, 16384, 32768, 65536] as const;
/** Bytes of a FAT root directory scanned for the volume label entry. */
const MAX_FAT_ROOT_SCAN_BYTES = 64 * KiB;

// ext feature bits (super.rst): what ext2 and ext3 understand; anything else means ext4.
const EXT_COMPAT_HAS_JOURNAL = 0x4;
const EXT_INCOMPAT_FILETYPE = 0x2;
const EXT_INCOMPAT_RECOVER = 0x4;
const EXT_INCOMPAT_JOURNAL_DEV = 0x8;
const EXT_INCOMPAT_META_BG = 0x10;
const EXT_RO_COMPAT_EXT3 = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
const EXT2_INCOMPAT_SUPP = EXT_INCOMPAT_FILETYPE | EXT_INCOMPAT_META_BG;
const EXT3_INCOMPAT_SUPP = EXT2_INCOMPAT_SUPP | EXT_INCOMPAT_RECOVER;
/** s_log_block_size above this gives blocks larger than 64 KiB, which ext4 does not allow. */
const EXT_MAX_LOG_BLOCK_SIZE = 6;

/** LUKS, LVM, XFS and ext keep their signatures in the first 4 KiB: most volumes are decided from this much. */
const QUICK_PROBE_BYTES = 8 * KiB;

export async function detectFilesystem(source: BlockSource): Promise<FsSignature> {
  // A fleet scan opens every node's disk: reading 8 KiB instead of 68 KiB per root volume is
  // what it costs to tell ext4 or XFS; the rest of the probe only for what those do not claim.
  const quick = await source.read(0, Math.min(source.size, QUICK_PROBE_BYTES));
  const early = luks(quick) ?? lvm(quick) ?? xfs(quick) ?? ext(quick);
  if (early !== undefined) return early;
  const head = source.size <= QUICK_PROBE_BYTES ? quick : await source.read(0, Math.min(source.size, PROBE_BYTES));
  return (
    luks(head) ??
    lvm(head) ??
    xfs(head) ??
    ext(head) ??
    btrfs(head) ??
    swap(head) ??
    (await vfat(source, head)) ?? { type: 'unknown' }
  );
}

function has(buf: Uint8Array, at: number, magic: string): boolean {
  return at + magic.length <= buf.length && ascii(buf, at, at + magic.length) === magic;
}

function withText(sig: FsSignature, key: 'label' | 'uuid' | 'version', v: string | undefined): FsSignature {
  if (v !== undefined && v !== '') sig[key] = v;
  return sig;
}

function luks(b: Uint8Array): FsSignature | undefined {
  if (!has(b, 0, 'LUKS\xba\xbe') || b.length < 256) return undefined;
  const version = view(b).getUint16(6, false);
  const sig: FsSignature = { type: 'luks', version: String(version) };
  withText(sig, 'uuid', cstring(b, 168, 208));
  if (version === 2) withText(sig, 'label', cstring(b, 24, 72));
  return sig;
}

function lvm(b: Uint8Array): FsSignature | undefined {
  for (let s = 0; s < LVM_LABEL_SCAN_SECTORS && (s + 1) * LVM_SECTOR_BYTES <= b.length; s++) {
    const sector = b.subarray(s * LVM_SECTOR_BYTES, (s + 1) * LVM_SECTOR_BYTES);
    if (!has(sector, 0, LVM_LABEL_ID)) continue;
    try {
      const label = parseLabelSector(sector, s);
      return { type: 'lvm2-pv', uuid: formatLvmId(label.uuid), version: LVM_LABEL_TYPE };
    } catch (err) {
      // A damaged label is still an LVM PV; the volume layer reports the damage.
      if (err instanceof HullscanError) return { type: 'lvm2-pv' };
      throw err;
    }
  }
  return undefined;
}

function xfs(b: Uint8Array): FsSignature | undefined {
  if (!has(b, 0, 'XFSB') || b.length < 120) return undefined;
  const dv = view(b);
  const sig: FsSignature = { type: 'xfs', uuid: uuidBE(b, 32), version: String(dv.getUint16(100, false) & 0xf) };
  const bs = dv.getUint32(4, false);
  if (bs >= 512 && bs <= 65536) sig.blockSize = bs;
  return withText(sig, 'label', cstring(b, 108, 120));
}

function ext(b: Uint8Array): FsSignature | undefined {
  const s = EXT_SUPER_OFFSET;
  if (b.length < s + 256) return undefined;
  const dv = view(b);
  if (dv.getUint16(s + 56, true) !== 0xef53) return undefined;
  const compat = dv.getUint32(s + 0x5c, true);
  const incompat = dv.getUint32(s + 0x60, true);
  const roCompat = dv.getUint32(s + 0x64, true);
  if (incompat & EXT_INCOMPAT_JOURNAL_DEV) return { type: 'unknown', version: 'ext journal device' };
  const beyondExt3 = (incompat & ~EXT3_INCOMPAT_SUPP) !== 0 || (roCompat & ~EXT_RO_COMPAT_EXT3) !== 0;
  const hasJournal = (compat & EXT_COMPAT_HAS_JOURNAL) !== 0;
  const beyondExt2 = (incompat & ~EXT2_INCOMPAT_SUPP) !== 0 || (roCompat & ~EXT_RO_COMPAT_EXT3) !== 0;
  const type = beyondExt3 ? 'ext4' : hasJournal ? 'ext3' : beyondExt2 ? 'ext4' : 'ext2';
  const sig: FsSignature = { type, uuid: uuidBE(b, s + 0x68), version: `${dv.getUint32(s + 76, true)}.${dv.getUint16(s + 62, true)}` };
  const log = dv.getUint32(s + 24, true);
  if (log <= EXT_MAX_LOG_BLOCK_SIZE) sig.blockSize = 1024 << log;
  return withText(sig, 'label', cstring(b, s + 0x78, s + 0x88));
}

function btrfs(b: Uint8Array): FsSignature | undefined {
  const s = BTRFS_SUPER_OFFSET;
  if (!has(b, s + 64, '_BHRfS_M') || b.length < s + 0x12b + 256) return undefined;
  const sig: FsSignature = { type: 'btrfs', uuid: uuidBE(b, s + 32) };
  const sectorSize = view(b).getUint32(s + 0x90, true);
  if (sectorSize >= 512 && sectorSize <= 65536) sig.blockSize = sectorSize;
  return withText(sig, 'label', cstring(b, s + 0x12b, s + 0x12b + 256));
}

function swap(b: Uint8Array): FsSignature | undefined {
  for (const page of SWAP_PAGE_SIZES) {
    if (has(b, page - 10, 'SWAP-SPACE')) return { type: 'swap', version: '0', blockSize: page };
    if (!has(b, page - 10, 'SWAPSPACE2')) continue;
    const dv = view(b);
    // The header is in the writer's byte order; version 1 tells which.
    const le = dv.getUint32(1024, true);
    const version = le === 1 ? 1 : dv.getUint32(1024, false);
    const sig: FsSignature = { type: 'swap', version: String(version), uuid: uuidBE(b, 1036), blockSize: page };
    return withText(sig, 'label', cstring(b, 1052, 1068));
  }
  return undefined;
}

async function vfat(source: BlockSource, b: Uint8Array): Promise<FsSignature | undefined> {
  if (b.length < 512 || b[510] !== 0x55 || b[511] !== 0xaa) return undefined;
  if (!((b[0] === 0xeb && b[2] === 0x90) || b[0] === 0xe9)) return undefined;
  const dv = view(b);
  const bps = dv.getUint16(11, true);
  const spc = b[13]!;
  const reserved = dv.getUint16(14, true);
  const fats = b[16]!;
  const rootEntries = dv.getUint16(17, true);
  const media = b[21]!;
  const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (!isPow2(bps) || bps < 512 || bps > 4096 || !isPow2(spc) || reserved === 0 || fats === 0 || (media !== 0xf0 && media < 0xf8)) return undefined;
  const fatSize16 = dv.getUint16(22, true);
  const fatSize = fatSize16 !== 0 ? fatSize16 : dv.getUint32(36, true);
  const total16 = dv.getUint16(19, true);
  const totalSectors = total16 !== 0 ? total16 : dv.getUint32(32, true);
  const rootDirSectors = Math.ceil((rootEntries * 32) / bps);
  const dataStart = reserved + fats * fatSize + rootDirSectors;
  if (fatSize === 0 || dataStart >= totalSectors) return undefined;
  const clusters = Math.floor((totalSectors - dataStart) / spc);
  const fat32 = fatSize16 === 0;
  const version = fat32 ? 'FAT32' : clusters < 4085 ? 'FAT12' : 'FAT16';
  const ext = fat32 ? 64 : 36;
  const sig: FsSignature = { type: 'vfat', version, blockSize: bps };
  if (b[ext + 2] === 0x29 || b[ext + 2] === 0x28) {
    const id = dv.getUint32(ext + 3, true);
    const hex = id.toString(16).toUpperCase().padStart(8, '0');
    sig.uuid = `${hex.slice(0, 4)}-${hex.slice(4)}`;
  }
  // The root directory's volume-label entry wins over the boot sector copy (as libblkid does).
  let rootOffset: number;
  let rootBytes: number;
  if (fat32) {
    const rootCluster = dv.getUint32(44, true);
    rootOffset = (dataStart + (rootCluster - 2) * spc) * bps;
    rootBytes = spc * bps;
  } else {
    rootOffset = (reserved + fats * fatSize) * bps;
    rootBytes = rootEntries * 32;
  }
  rootBytes = Math.min(rootBytes, MAX_FAT_ROOT_SCAN_BYTES);
  let label: string | undefined;
  if (rootOffset >= 0 && rootBytes > 0 && rootOffset + rootBytes <= source.size) {
    const dir = await source.read(rootOffset, rootBytes);
    for (let o = 0; o + 32 <= dir.length; o += 32) {
      if (dir[o] === 0x00) break;
      const attr = dir[o + 11]!;
      if (dir[o] === 0xe5 || attr === 0x0f || (attr & 0x08) === 0) continue;
      label = ascii(dir, o, o + 11).trimEnd();
      break;
    }
  }
  if (label === undefined && (b[ext + 2] === 0x29)) {
    const boot = ascii(b, ext + 7, ext + 18).trimEnd();
    if (boot !== 'NO NAME') label = boot;
  }
  return withText(sig, 'label', label);
}
