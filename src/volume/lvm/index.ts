/**
 * LVM2: finds physical volumes among candidate volumes, reads the newest metadata of each
 * volume group, and maps its logical volumes to BlockSources.
 *
 * Reference: lvm2 at v2_03_16 — lib/label/label.c (label scan), lib/format_text/format-text.c
 * and layout.h (metadata areas), lib/format_text/import_vsn1.c (metadata text), and the
 * device-mapper linear/striped targets for the mapping. Only linear and striped segments are
 * read; every other segment type (thin, RAID, mirror, cache, snapshot, VDO...) is reported as an
 * issue on its volume.
 */
import type { BlockSource } from '../../disk/index.ts';
import { HullscanError, NotThisFormatError } from '../../util/errors.ts';
import { issueFromError, type Issue } from '../../util/issues.ts';
import type { Volume } from '../index.ts';
import { readPvLabel, formatLvmId, type PvLabel } from './label.ts';
import { readMetadataArea } from './mda.ts';
import { parseConfig } from './text.ts';
import { vgFromConfig, LVM_METADATA_SECTOR_BYTES, type LvmLv, type LvmVg } from './metadata.ts';
import { MappedSource, type MappedSegment } from './mapped-source.ts';

export { MappedSource } from './mapped-source.ts';
export type { MappedSegment, MappedArea } from './mapped-source.ts';

/** Metadata areas we read per PV (lvm writes at most two: start and end of the device). */
export const MAX_MDAS_PER_PV = 2;

export interface PvCandidate {
  /** Id of the volume that may hold a PV ("p3", "whole"). */
  volumeId: string;
  /** Absolute byte offset of that volume on the disk. */
  offset: number;
  source: BlockSource;
}

export interface FoundPv {
  candidate: PvCandidate;
  label: PvLabel;
  /** Newest metadata found on this PV's own metadata areas, if any. */
  vg?: LvmVg;
}

export interface LvmScan {
  /** PVs found, by candidate volume id. */
  pvs: FoundPv[];
  /** Logical volumes, in metadata order per VG. */
  volumes: Volume[];
  issues: Issue[];
  vgs: LvmVg[];
}

/** Reads an LVM PV label and metadata on `candidate`; NotThisFormatError when it is not a PV. */
export async function readPv(candidate: PvCandidate, issues: Issue[]): Promise<FoundPv> {
  const label = await readPvLabel(candidate.source);
  const pv: FoundPv = { candidate, label };
  const where = `volume ${candidate.volumeId}`;
  for (const area of label.metadataAreas.slice(0, MAX_MDAS_PER_PV)) {
    try {
      const mda = await readMetadataArea(candidate.source, area);
      if (mda === undefined) continue;
      const vg = vgFromConfig(parseConfig(new TextDecoder('utf-8', { fatal: false }).decode(mda.text)));
      if (pv.vg === undefined || vg.seqno > pv.vg.seqno) pv.vg = vg;
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err;
      issues.push(issueFromError(err, 'lvm.metadata-unreadable', `${where} (LVM metadata area at ${area.offset})`));
    }
  }
  if (label.metadataAreas.length > MAX_MDAS_PER_PV) {
    issues.push({ severity: 'warning', code: 'lvm.extra-mdas', message: `LVM: PV has ${label.metadataAreas.length} metadata areas; only the first ${MAX_MDAS_PER_PV} are read`, location: where });
  }
  return pv;
}

export async function scanLvm(candidates: PvCandidate[]): Promise<LvmScan> {
  const issues: Issue[] = [];
  const pvs: FoundPv[] = [];
  for (const c of candidates) {
    try {
      pvs.push(await readPv(c, issues));
    } catch (err) {
      if (err instanceof NotThisFormatError) continue;
      if (!(err instanceof HullscanError)) throw err;
      issues.push(issueFromError(err, 'lvm.label-unreadable', `volume ${c.volumeId}`));
    }
  }
  // The newest copy of each VG's metadata wins (lvm compares seqno the same way).
  const vgById = new Map<string, LvmVg>();
  for (const pv of pvs) {
    if (pv.vg === undefined) continue;
    const have = vgById.get(pv.vg.id);
    if (have === undefined || pv.vg.seqno > have.seqno) vgById.set(pv.vg.id, pv.vg);
  }
  const volumes: Volume[] = [];
  const vgs = [...vgById.values()];
  for (const vg of vgs) {
    for (const pv of pvs) {
      if (pv.vg?.id === vg.id && pv.vg.seqno < vg.seqno) {
        issues.push({ severity: 'info', code: 'lvm.stale-metadata', message: `LVM VG ${vg.name}: volume ${pv.candidate.volumeId} holds older metadata (seqno ${pv.vg.seqno} < ${vg.seqno})`, location: `volume ${pv.candidate.volumeId}` });
      }
    }
    volumes.push(...mapVg(vg, pvs, issues));
  }
  const memberUuids = new Set(vgs.flatMap((vg) => [...vg.pvs.values()].map((r) => r.uuid)));
  for (const pv of pvs) {
    if (!memberUuids.has(pv.label.uuid)) issues.push({ severity: 'info', code: 'lvm.orphan-pv', message: `LVM: PV ${formatLvmId(pv.label.uuid)} belongs to no volume group found on this disk`, location: `volume ${pv.candidate.volumeId}` });
  }
  return { pvs, volumes, issues, vgs };
}

/** Human wording of the segment types we do not read, for the issue message and code. */
function unsupportedKind(type: string): { what: string; code: string } {
  if (type === 'thin') return { what: 'thin volumes', code: 'lvm.thin-unsupported' };
  if (type === 'thin-pool') return { what: 'thin pools', code: 'lvm.thin-pool-unsupported' };
  if (type.startsWith('raid')) return { what: `RAID volumes (${type})`, code: 'lvm.raid-unsupported' };
  if (type === 'mirror') return { what: 'mirror volumes', code: 'lvm.mirror-unsupported' };
  if (type === 'cache' || type === 'cache-pool' || type === 'writecache') return { what: `${type} volumes`, code: 'lvm.cache-unsupported' };
  if (type === 'snapshot') return { what: 'snapshots', code: 'lvm.snapshot-unsupported' };
  if (type === 'vdo' || type === 'vdo-pool') return { what: 'VDO volumes', code: 'lvm.vdo-unsupported' };
  return { what: `segments of type "${type}"`, code: 'lvm.segment-unsupported' };
}

function mapVg(vg: LvmVg, pvs: FoundPv[], issues: Issue[]): Volume[] {
  const extentBytes = vg.extentSizeSectors * LVM_METADATA_SECTOR_BYTES;
  const byUuid = new Map(pvs.map((p) => [p.label.uuid, p]));
  const pvByKey = new Map<string, FoundPv>();
  for (const [key, ref] of vg.pvs) {
    const found = byUuid.get(ref.uuid);
    if (found !== undefined) pvByKey.set(key, found);
    else {
      issues.push({ severity: 'warning', code: 'lvm.pv-missing', message: `LVM VG ${vg.name}: physical volume ${key} (${formatLvmId(ref.uuid)}${ref.deviceHint ? `, last seen as ${ref.deviceHint}` : ''}) is not on this disk`, location: `lvm ${vg.name}` });
    }
  }
  // Old-style snapshots keep their copy-on-write data in a visible striped LV; its bytes are
  // not the snapshot's contents.
  const cowStores = new Set<string>();
  for (const lv of vg.lvs) for (const s of lv.segments) if (s.type === 'snapshot' && s.cowStore !== undefined) cowStores.add(s.cowStore);

  const out: Volume[] = [];
  for (const lv of vg.lvs) {
    if (!lv.visible) continue;
    out.push(mapLv(vg, lv, extentBytes, pvByKey, cowStores.has(lv.name)));
  }
  return out;
}

function mapLv(vg: LvmVg, lv: LvmLv, extentBytes: number, pvByKey: Map<string, FoundPv>, isCowStore: boolean): Volume {
  const label = `${vg.name}/${lv.name}`;
  const location = `lvm ${label}`;
  const types = [...new Set(lv.segments.map((s) => s.type))];
  const usedPvs = [...new Set(lv.segments.flatMap((s) => s.areas.map((a) => a.pv)))];
  const vol: Volume = {
    id: `lvm:${label}`,
    scheme: 'lvm',
    offset: 0,
    size: lv.extentCount * extentBytes,
    source: undefined,
    name: lv.name,
    lvm: { vg: vg.name, lv: lv.name, segments: types, pvs: usedPvs.map((k) => pvByKey.get(k)?.candidate.volumeId ?? `${k} (missing)`) },
    issues: [],
  };
  const firstArea = lv.segments[0]?.areas[0];
  const firstPv = firstArea === undefined ? undefined : pvByKey.get(firstArea.pv);
  const firstRef = firstArea === undefined ? undefined : vg.pvs.get(firstArea.pv);
  if (firstPv !== undefined && firstRef !== undefined && firstArea !== undefined) {
    vol.parent = firstPv.candidate.volumeId;
    vol.offset = firstPv.candidate.offset + firstRef.peStartSectors * LVM_METADATA_SECTOR_BYTES + firstArea.startExtent * extentBytes;
  } else {
    // Thin and other virtual LVs have no extents of their own: attach them to the VG's first PV.
    const anyPv = pvByKey.values().next().value;
    if (anyPv !== undefined) {
      vol.parent = anyPv.candidate.volumeId;
      vol.offset = anyPv.candidate.offset;
    }
  }
  if (!Number.isSafeInteger(vol.size)) {
    vol.size = 0;
    vol.issues.push({ severity: 'error', code: 'lvm.lv-size', message: `LVM volume ${label}: size out of range`, location });
    return vol;
  }
  if (isCowStore) {
    vol.issues.push({ severity: 'warning', code: 'lvm.snapshot-unsupported', message: `LVM volume ${label}: snapshots are not supported (this LV holds a snapshot's copy-on-write data)`, location });
    return vol;
  }
  const unsupported = types.filter((t) => t !== 'striped');
  if (unsupported.length > 0) {
    const k = unsupportedKind(unsupported[0]!);
    vol.issues.push({ severity: 'warning', code: k.code, message: `LVM volume ${label}: ${k.what} are not supported`, location });
    return vol;
  }
  const segments: MappedSegment[] = [];
  for (const seg of lv.segments) {
    const n = seg.areas.length;
    const perAreaBytes = (seg.extentCount / n) * extentBytes;
    const areas = [];
    for (const a of seg.areas) {
      const ref = vg.pvs.get(a.pv);
      if (ref === undefined) {
        vol.issues.push({ severity: 'error', code: 'lvm.metadata-invalid', message: `LVM volume ${label}: segment refers to unknown physical volume "${a.pv}"`, location });
        return vol;
      }
      const pv = pvByKey.get(a.pv);
      if (pv === undefined) {
        vol.issues.push({ severity: 'error', code: 'lvm.pv-missing', message: `LVM volume ${label}: physical volume ${a.pv} (${formatLvmId(ref.uuid)}) is not on this disk`, location });
        return vol;
      }
      const offset = ref.peStartSectors * LVM_METADATA_SECTOR_BYTES + a.startExtent * extentBytes;
      if (!Number.isSafeInteger(offset + perAreaBytes) || offset + perAreaBytes > pv.candidate.source.size) {
        vol.issues.push({ severity: 'error', code: 'lvm.extent-outside-pv', message: `LVM volume ${label}: extents ${a.startExtent}..${a.startExtent + seg.extentCount / n - 1} of ${a.pv} lie past the end of volume ${pv.candidate.volumeId}`, location });
        return vol;
      }
      areas.push({ source: pv.candidate.source, offset });
    }
    const stripeBytes = n > 1 ? (seg.stripeSizeSectors ?? 0) * LVM_METADATA_SECTOR_BYTES : seg.extentCount * extentBytes;
    if (n > 1 && (stripeBytes <= 0 || perAreaBytes % stripeBytes !== 0)) {
      vol.issues.push({ severity: 'error', code: 'lvm.metadata-invalid', message: `LVM volume ${label}: stripe size ${stripeBytes} bytes does not divide the stripe length`, location });
      return vol;
    }
    segments.push({ start: seg.startExtent * extentBytes, length: seg.extentCount * extentBytes, areas, stripeBytes });
  }
  try {
    vol.source = new MappedSource(segments, { description: `LVM volume ${label}` });
  } catch (err) {
    if (!(err instanceof HullscanError)) throw err;
    vol.issues.push(issueFromError(err, 'lvm.metadata-invalid', location));
  }
  return vol;
}
