/**
 * The typed volume group model read from parsed LVM2 metadata text.
 *
 * Reference: lvm2 lib/format_text/import_vsn1.c (_read_vg, _read_pv, _read_lv, _read_segment)
 * and lib/format_text/export.c, at lvm2 v2_03_16. Sizes in metadata are 512-byte sectors
 * (extent_size, pe_start, stripe_size) or extents (start_extent, extent_count).
 */
import { CorruptError } from '../../util/errors.ts';
import type { ConfigSection, ConfigValue } from './text.ts';

export const LVM_METADATA_SECTOR_BYTES = 512;
/** Physical volumes in one VG (lvm has no hard limit; thousands would be absurd). */
export const MAX_VG_PVS = 4096;
/** Logical volumes in one VG (lvm's own soft limit is in the tens of thousands). */
export const MAX_VG_LVS = 65_536;
/** Segments of one LV. */
export const MAX_LV_SEGMENTS = 65_536;
/** Stripes of one segment (lvm2 MAX_STRIPES). */
export const MAX_STRIPES = 128;

export interface LvmPvRef {
  /** Key in physical_volumes ("pv0"). */
  key: string;
  /** 32 characters, no dashes. */
  uuid: string;
  /** Device hint recorded by LVM ("/dev/sda3"). */
  deviceHint?: string;
  peStartSectors: number;
  peCount: number;
}

export interface LvmArea {
  /** Key of the PV ("pv0"), or the LV name for segments stacked on LVs. */
  pv: string;
  startExtent: number;
}

export interface LvmSegment {
  startExtent: number;
  extentCount: number;
  type: string;
  /** Striped segments with more than one stripe: chunk size in 512-byte sectors. */
  stripeSizeSectors?: number;
  /** "striped": PV areas; empty for other types. */
  areas: LvmArea[];
  /** Snapshot segments: the LV holding the copy-on-write store. */
  cowStore?: string;
}

export interface LvmLv {
  name: string;
  id: string;
  status: string[];
  visible: boolean;
  extentCount: number;
  segments: LvmSegment[];
}

export interface LvmVg {
  name: string;
  id: string;
  seqno: number;
  extentSizeSectors: number;
  pvs: Map<string, LvmPvRef>;
  lvs: LvmLv[];
}

/** Removes the dashes LVM puts in printed ids. */
export function stripLvmId(id: string): string {
  return id.replaceAll('-', '');
}

function fail(msg: string, where: string): never {
  throw new CorruptError(`LVM metadata: ${msg}`, { location: where });
}

function num(sec: ConfigSection, key: string, where: string, min = 0): number {
  const v = sec.values.get(key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`"${key}" is missing or not an integer >= ${min}`, where);
  return v;
}

function optNum(sec: ConfigSection, key: string, where: string): number | undefined {
  return sec.values.has(key) ? num(sec, key, where) : undefined;
}

function str(sec: ConfigSection, key: string, where: string): string {
  const v = sec.values.get(key);
  if (typeof v !== 'string') fail(`"${key}" is missing or not a string`, where);
  return v;
}

function optStr(sec: ConfigSection, key: string): string | undefined {
  const v = sec.values.get(key);
  return typeof v === 'string' ? v : undefined;
}

function strList(v: ConfigValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * Finds the one VG section in a parsed metadata text (the only top-level section; the
 * top-level keys are contents, version, description, creation_host, creation_time).
 */
export function vgFromConfig(root: ConfigSection): LvmVg {
  if (root.sections.size !== 1) fail(`expected one volume group section, found ${root.sections.size}`, 'metadata text');
  const [name, vg] = [...root.sections][0]!;
  const where = `VG ${name}`;
  const extentSizeSectors = num(vg, 'extent_size', where, 1);
  const pvs = new Map<string, LvmPvRef>();
  const pvSec = vg.sections.get('physical_volumes');
  if (pvSec !== undefined) {
    if (pvSec.sections.size > MAX_VG_PVS) fail(`more than ${MAX_VG_PVS} physical volumes`, where);
    for (const [key, pv] of pvSec.sections) {
      const w = `${where} PV ${key}`;
      const ref: LvmPvRef = {
        key,
        uuid: stripLvmId(str(pv, 'id', w)),
        peStartSectors: num(pv, 'pe_start', w),
        peCount: num(pv, 'pe_count', w),
      };
      const hint = optStr(pv, 'device');
      if (hint !== undefined) ref.deviceHint = hint;
      pvs.set(key, ref);
    }
  }
  const lvs: LvmLv[] = [];
  const lvSec = vg.sections.get('logical_volumes');
  if (lvSec !== undefined) {
    if (lvSec.sections.size > MAX_VG_LVS) fail(`more than ${MAX_VG_LVS} logical volumes`, where);
    for (const [lvName, lv] of lvSec.sections) lvs.push(readLv(lvName, lv, `${where} LV ${lvName}`));
  }
  return { name, id: stripLvmId(str(vg, 'id', where)), seqno: num(vg, 'seqno', where), extentSizeSectors, pvs, lvs };
}

function readLv(name: string, lv: ConfigSection, where: string): LvmLv {
  const status = strList(lv.values.get('status'));
  const segCount = num(lv, 'segment_count', where);
  if (segCount > MAX_LV_SEGMENTS) fail(`segment_count ${segCount} exceeds ${MAX_LV_SEGMENTS}`, where);
  const segments: LvmSegment[] = [];
  for (let i = 1; i <= segCount; i++) {
    const seg = lv.sections.get(`segment${i}`);
    if (seg === undefined) fail(`segment${i} is missing`, where);
    segments.push(readSegment(seg, `${where} segment${i}`));
  }
  segments.sort((a, b) => a.startExtent - b.startExtent);
  let next = 0;
  for (const s of segments) {
    if (s.startExtent !== next) fail(`segments are not contiguous at extent ${next}`, where);
    next = s.startExtent + s.extentCount;
    if (!Number.isSafeInteger(next)) fail('extent count out of range', where);
  }
  return { name, id: stripLvmId(optStr(lv, 'id') ?? ''), status, visible: status.includes('VISIBLE'), extentCount: next, segments };
}

function readSegment(seg: ConfigSection, where: string): LvmSegment {
  const startExtent = num(seg, 'start_extent', where);
  const extentCount = num(seg, 'extent_count', where, 1);
  // Old metadata omits "type" for striped segments (import_vsn1.c defaults to "striped").
  const type = optStr(seg, 'type') ?? 'striped';
  const out: LvmSegment = { startExtent, extentCount, type, areas: [] };
  if (type === 'striped') {
    const stripeCount = num(seg, 'stripe_count', where, 1);
    if (stripeCount > MAX_STRIPES) fail(`stripe_count ${stripeCount} exceeds ${MAX_STRIPES}`, where);
    const list = seg.values.get('stripes');
    if (!Array.isArray(list) || list.length !== 2 * stripeCount) fail(`"stripes" must list ${stripeCount} (pv, extent) pairs`, where);
    for (let i = 0; i < stripeCount; i++) {
      const pv = list[2 * i];
      const ext = list[2 * i + 1];
      if (typeof pv !== 'string' || typeof ext !== 'number' || !Number.isSafeInteger(ext) || ext < 0) fail(`stripe ${i} is not a (pv, extent) pair`, where);
      out.areas.push({ pv, startExtent: ext });
    }
    if (extentCount % stripeCount !== 0) fail(`extent_count ${extentCount} is not a multiple of stripe_count ${stripeCount}`, where);
    if (stripeCount > 1) out.stripeSizeSectors = num(seg, 'stripe_size', where, 1);
    else {
      const ss = optNum(seg, 'stripe_size', where);
      if (ss !== undefined) out.stripeSizeSectors = ss;
    }
  }
  const cow = optStr(seg, 'cow_store');
  if (cow !== undefined) out.cowStore = cow;
  return out;
}
