/**
 * The VHDX metadata region: the metadata table and the known system items.
 *
 * Spec: [MS-VHDX] section 2.6 (Metadata Region): 2.6.1 (Metadata Table), 2.6.2.1 File
 * Parameters, 2.6.2.2 Virtual Disk Size, 2.6.2.4 Logical Sector Size, 2.6.2.5 Physical Sector
 * Size, 2.6.2.6 Parent Locator.
 */
import type { BlockSource } from '../../index.ts';
import { ascii, guidLE, u64le, view } from '../../../util/bytes.ts';
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { KiB, MiB, TiB } from '../../../util/units.ts';
import type { Region } from './region-table.ts';

export const METADATA_TABLE_BYTES = 64 * KiB;
export const MAX_METADATA_ENTRIES = 2047;
export const MAX_METADATA_ITEM_BYTES = 1 * MiB;
/** The known items are read with one read when they lie within this span, else one by one. */
const MAX_METADATA_SPAN_BYTES = 4 * MiB;
export const MIN_VHDX_BLOCK_BYTES = 1 * MiB;
export const MAX_VHDX_BLOCK_BYTES = 256 * MiB;
export const MAX_VHDX_DISK_BYTES = 64 * TiB;

const ITEM = {
  fileParameters: 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B',
  virtualDiskSize: '2FA54224-CD1B-4876-B211-5DBED83BF4B8',
  virtualDiskId: 'BECA12AB-B2E6-4523-93EF-C309E000C746',
  logicalSectorSize: '8141BF1D-A96F-4709-BA47-F233A8FAAB5F',
  physicalSectorSize: 'CDA348C7-445D-4471-9CC9-E9885251C556',
  parentLocator: 'A8D35F2D-B30B-454D-ABF7-D3D84834AB0C',
} as const;
type ItemName = keyof typeof ITEM;
/** Smallest valid length of each known item. */
const ITEM_MIN_BYTES: Record<ItemName, number> = {
  fileParameters: 8,
  virtualDiskSize: 8,
  virtualDiskId: 16,
  logicalSectorSize: 4,
  physicalSectorSize: 4,
  parentLocator: 20,
};

export interface VhdxMetadata {
  blockSize: number;
  leaveBlockAllocated: boolean;
  hasParent: boolean;
  virtualDiskSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** Key/value pairs of the parent locator, when present. */
  parentLocator: Map<string, string> | undefined;
}

interface ItemRef {
  offset: number;
  length: number;
}

export async function readMetadata(file: BlockSource, region: Region): Promise<VhdxMetadata> {
  const location = `VHDX metadata region at ${region.offset}`;
  if (region.length < METADATA_TABLE_BYTES) {
    throw new CorruptError(`VHDX metadata region is ${region.length} bytes, smaller than its table`, { location });
  }
  const table = await file.read(region.offset, METADATA_TABLE_BYTES);
  const refs = parseTable(table, region.length, location);
  const items = await readItems(file, region.offset, refs);
  return decodeItems(items, location);
}

function parseTable(table: Uint8Array, regionLength: number, location: string): Map<ItemName, ItemRef> {
  if (ascii(table, 0, 8) !== 'metadata') throw new CorruptError('VHDX metadata table signature missing', { location });
  const dv = view(table);
  const count = dv.getUint16(10, true);
  if (count > MAX_METADATA_ENTRIES) {
    throw new CorruptError(`VHDX metadata table has ${count} entries (limit ${MAX_METADATA_ENTRIES})`, { location });
  }
  const names = new Map<string, ItemName>(Object.entries(ITEM).map(([k, v]) => [v, k as ItemName]));
  const refs = new Map<ItemName, ItemRef>();
  for (let i = 0; i < count; i++) {
    const at = 32 + i * 32;
    const where = `${location} entry ${i}`;
    const guid = guidLE(table, at);
    const offset = dv.getUint32(at + 16, true);
    const length = dv.getUint32(at + 20, true);
    const flags = dv.getUint32(at + 24, true);
    const isUser = (flags & 1) === 1;
    const isRequired = (flags & 4) === 4;
    const name = isUser ? undefined : names.get(guid);
    if (name === undefined) {
      if (isRequired) throw new UnsupportedError(`VHDX metadata item ${guid} is required but not known to this reader`, { location: where });
      continue;
    }
    if (length > MAX_METADATA_ITEM_BYTES || (length !== 0 && (offset < METADATA_TABLE_BYTES || offset + length > regionLength))) {
      throw new CorruptError(`VHDX metadata item ${name} at ${offset} (+${length}) lies outside the metadata region`, { location: where });
    }
    if (length < ITEM_MIN_BYTES[name]) {
      throw new CorruptError(`VHDX metadata item ${name} is ${length} bytes (needs ${ITEM_MIN_BYTES[name]})`, { location: where });
    }
    if (refs.has(name)) throw new CorruptError(`VHDX metadata item ${name} appears twice`, { location: where });
    refs.set(name, { offset, length });
  }
  return refs;
}

async function readItems(file: BlockSource, base: number, refs: Map<ItemName, ItemRef>): Promise<Map<ItemName, Uint8Array>> {
  const out = new Map<ItemName, Uint8Array>();
  if (refs.size === 0) return out;
  const all = [...refs.values()];
  const start = Math.min(...all.map((r) => r.offset));
  const end = Math.max(...all.map((r) => r.offset + r.length));
  if (end - start <= MAX_METADATA_SPAN_BYTES) {
    const span = await file.read(base + start, end - start);
    for (const [name, r] of refs) out.set(name, span.subarray(r.offset - start, r.offset - start + r.length));
  } else {
    for (const [name, r] of refs) out.set(name, await file.read(base + r.offset, r.length));
  }
  return out;
}

function need(items: Map<ItemName, Uint8Array>, name: ItemName, location: string): DataView {
  const b = items.get(name);
  if (b === undefined) throw new CorruptError(`VHDX required metadata item ${name} is missing`, { location });
  return view(b);
}

function decodeItems(items: Map<ItemName, Uint8Array>, location: string): VhdxMetadata {
  const fp = need(items, 'fileParameters', location);
  const blockSize = fp.getUint32(0, true);
  const fpFlags = fp.getUint32(4, true);
  const virtualDiskSize = u64le(need(items, 'virtualDiskSize', location), 0, 'VHDX virtual disk size');
  const logicalSectorSize = need(items, 'logicalSectorSize', location).getUint32(0, true);
  const physicalSectorSize = need(items, 'physicalSectorSize', location).getUint32(0, true);

  if (blockSize < MIN_VHDX_BLOCK_BYTES || blockSize > MAX_VHDX_BLOCK_BYTES || (blockSize & (blockSize - 1)) !== 0) {
    throw new CorruptError(
      `VHDX block size ${blockSize} is not a power of two between ${MIN_VHDX_BLOCK_BYTES} and ${MAX_VHDX_BLOCK_BYTES} bytes`,
      { location },
    );
  }
  if (logicalSectorSize !== 512 && logicalSectorSize !== 4096) {
    throw new CorruptError(`VHDX logical sector size ${logicalSectorSize} is neither 512 nor 4096`, { location });
  }
  if (physicalSectorSize !== 512 && physicalSectorSize !== 4096) {
    throw new CorruptError(`VHDX physical sector size ${physicalSectorSize} is neither 512 nor 4096`, { location });
  }
  if (virtualDiskSize > MAX_VHDX_DISK_BYTES || virtualDiskSize % logicalSectorSize !== 0) {
    throw new CorruptError(
      `VHDX virtual disk size ${virtualDiskSize} is not a multiple of ${logicalSectorSize} up to ${MAX_VHDX_DISK_BYTES} bytes`,
      { location },
    );
  }
  const locatorBytes = items.get('parentLocator');
  return {
    blockSize,
    leaveBlockAllocated: (fpFlags & 1) === 1,
    hasParent: (fpFlags & 2) === 2,
    virtualDiskSize,
    logicalSectorSize,
    physicalSectorSize,
    parentLocator: locatorBytes ? parseParentLocator(locatorBytes, `${location} parent locator`) : undefined,
  };
}

/** Key/value pairs of a parent locator (2.6.2.6): UTF-16LE strings at offsets inside the item. */
export function parseParentLocator(item: Uint8Array, location: string): Map<string, string> {
  const dv = view(item);
  const count = dv.getUint16(18, true);
  if (20 + count * 12 > item.length) {
    throw new CorruptError(`VHDX parent locator claims ${count} entries but is ${item.length} bytes`, { location });
  }
  const utf16 = new TextDecoder('utf-16le');
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const at = 20 + i * 12;
    const ko = dv.getUint32(at, true);
    const vo = dv.getUint32(at + 4, true);
    const kl = dv.getUint16(at + 8, true);
    const vl = dv.getUint16(at + 10, true);
    if (ko + kl > item.length || vo + vl > item.length) {
      throw new CorruptError(`VHDX parent locator entry ${i} points outside the item`, { location });
    }
    out.set(utf16.decode(item.subarray(ko, ko + kl)), utf16.decode(item.subarray(vo, vo + vl)));
  }
  return out;
}

/** The best name for the parent, in the order the spec says to try the paths. */
export function parentPath(locator: Map<string, string> | undefined): string | undefined {
  if (!locator) return undefined;
  return locator.get('relative_path') ?? locator.get('volume_path') ?? locator.get('absolute_win32_path');
}
