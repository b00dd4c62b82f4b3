/**
 * The VMDK text descriptor: header keys (version, CID, parentCID, createType), extent lines and
 * the disk database.
 *
 * Spec: VMware Virtual Disk Format 1.1, "The Descriptor File" ("Header", "Extent Descriptions",
 * "The Disk Database"). An extent line is `ACCESS SIZE TYPE ["FILENAME" [OFFSET]]`, SIZE and
 * OFFSET in 512-byte sectors.
 */
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { MAX_VIRTUAL_DISK_BYTES, SECTOR_BYTES } from './sparse-header.ts';

export const DESCRIPTOR_SIGNATURE = '# Disk DescriptorFile';
/**
 * Extents of one disk, each an open file: 4096 covers a twoGbMaxExtent* disk of 8 TiB. Larger
 * split disks are rare enough to refuse rather than hold thousands of descriptors open.
 */
export const MAX_EXTENTS = 4096;
/** Step budget over descriptor lines. */
export const MAX_DESCRIPTOR_LINES = 64 * 1024;
/** parentCID of a disk that has no parent. */
export const NO_PARENT_CID = 'ffffffff';

export const EXTENT_TYPES = ['FLAT', 'SPARSE', 'ZERO', 'VMFS', 'VMFSSPARSE', 'VMFSRDM', 'VMFSRAW'] as const;
export type ExtentType = (typeof EXTENT_TYPES)[number];

export interface ExtentLine {
  access: 'RW' | 'RDONLY' | 'NOACCESS';
  sectors: number;
  type: ExtentType;
  fileName?: string;
  /** Offset of the extent's data in its file, in sectors (FLAT extents only). */
  offsetSectors: number;
  line: number;
}

export interface Descriptor {
  keys: Map<string, string>;
  createType?: string;
  parentCID?: string;
  parentFileNameHint?: string;
  extents: ExtentLine[];
}

// Linear-time: anchored, no nested quantifiers.
const EXTENT_LINE = /^(RW|RDONLY|NOACCESS)\s+(\d{1,20})\s+([A-Z]{1,16})(?:\s+"([^"]*)"(?:\s+(\d{1,20}))?)?\s*$/;
const KEY_LINE = /^([A-Za-z0-9_.]{1,128})\s*=\s*(.*)$/;

/** Parses descriptor text (already cut at the first NUL). */
export function parseDescriptor(text: string, where: string): Descriptor {
  const lines = text.split('\n');
  if (lines.length > MAX_DESCRIPTOR_LINES) {
    throw new CorruptError(`VMDK descriptor has more than ${MAX_DESCRIPTOR_LINES} lines`, { location: where });
  }
  const d: Descriptor = { keys: new Map(), extents: [] };
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const extent = EXTENT_LINE.exec(line);
    if (extent) {
      d.extents.push(parseExtent(extent, i + 1, where));
      if (d.extents.length > MAX_EXTENTS) throw new UnsupportedError(`VMDK descriptor lists more than ${MAX_EXTENTS} extents`, { location: where });
      continue;
    }
    const kv = KEY_LINE.exec(line);
    if (kv) d.keys.set(kv[1]!, unquote(kv[2]!.trim()));
    // Anything else (unknown syntax) is ignored, as VMware does for forward compatibility.
  }
  d.createType = d.keys.get('createType');
  d.parentCID = d.keys.get('parentCID')?.toLowerCase();
  d.parentFileNameHint = d.keys.get('parentFileNameHint');
  return d;
}

function parseExtent(m: RegExpExecArray, line: number, where: string): ExtentLine {
  const type = m[3]! as ExtentType;
  if (!EXTENT_TYPES.includes(type)) {
    throw new UnsupportedError(`VMDK extent type ${m[3]} is not supported`, { location: `${where} line ${line}` });
  }
  const sectors = Number(m[2]);
  const offsetSectors = m[5] === undefined ? 0 : Number(m[5]);
  const maxSectors = MAX_VIRTUAL_DISK_BYTES / SECTOR_BYTES;
  if (sectors > maxSectors || offsetSectors > maxSectors) {
    throw new CorruptError(`VMDK extent on line ${line} is larger than ${MAX_VIRTUAL_DISK_BYTES} bytes`, { location: `${where} line ${line}` });
  }
  const e: ExtentLine = { access: m[1] as ExtentLine['access'], sectors, type, offsetSectors, line };
  if (m[4] !== undefined) e.fileName = m[4];
  return e;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** A delta disk (snapshot child) needs its parent, which we do not open. */
export function checkNoParent(d: Descriptor, where: string): void {
  if (d.parentCID === undefined || d.parentCID === NO_PARENT_CID) return;
  const parent = d.parentFileNameHint === undefined ? `parent disk (parentCID ${d.parentCID})` : `parent disk '${d.parentFileNameHint}'`;
  throw new UnsupportedError(`VMDK image is a delta disk and needs its ${parent}: open the base disk or consolidate the snapshot chain`, {
    location: where,
  });
}

/**
 * Refuses extent file names that are not a plain name beside the descriptor: a hostile
 * descriptor must not make us open host files ("../../etc/passwd", "/dev/sda").
 */
export function checkExtentFileName(name: string, where: string): void {
  const plain =
    name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') &&
    !name.includes('\0') && !/^[A-Za-z]:/.test(name);
  if (!plain) {
    throw new UnsupportedError(`VMDK extent file '${name}' is not a plain file name beside the descriptor: refused`, { location: where });
  }
}
