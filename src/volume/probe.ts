/**
 * The volume probe: a decoded disk becomes a VolumeLayout.
 *
 * Order, as Linux and libblkid decide it: an MBR whose entries are all ordinary partitions is an
 * MBR disk; a protective MBR (type 0xEE), or no MBR at all, sends us to GPT (UEFI 2.10 ch. 5);
 * neither means no partition table ("whole"). Every readable partition (or the whole disk) is
 * then checked for an LVM2 physical volume, and logical volumes are listed after their PV.
 */
import type { BlockSource } from '../disk/index.ts';
import { SliceSource } from '../disk/slice-source.ts';
import { NotThisFormatError } from '../util/errors.ts';
import type { Issue } from '../util/issues.ts';
import type { Volume, VolumeLayout } from './index.ts';
import { readGpt, type GptTable } from './gpt.ts';
import { readMbr, type MbrTable } from './mbr.ts';
import { scanLvm, type PvCandidate } from './lvm/index.ts';

export async function probeVolumes(disk: BlockSource): Promise<VolumeLayout> {
  const layout: VolumeLayout = { scheme: 'none', volumes: [], issues: [], details: {} };
  let mbr: MbrTable | undefined;
  try {
    mbr = await readMbr(disk);
  } catch (err) {
    if (!(err instanceof NotThisFormatError)) throw err;
  }
  if (mbr !== undefined && !mbr.protective && mbr.partitions.length > 0) {
    layout.scheme = 'mbr';
    layout.volumes = mbrVolumes(disk, mbr);
    layout.issues.push(...mbr.issues);
    layout.details['mbrDiskSignature'] = mbr.diskSignature.toString(16).padStart(8, '0');
  } else {
    let gpt: GptTable | undefined;
    try {
      gpt = await readGpt(disk, { protectiveMbr: mbr?.protective === true });
    } catch (err) {
      if (!(err instanceof NotThisFormatError)) throw err;
    }
    if (gpt !== undefined) {
      layout.scheme = 'gpt';
      layout.volumes = gptVolumes(disk, gpt);
      layout.issues.push(...gpt.issues);
      layout.details['gptDiskGuid'] = gpt.diskGuid;
      layout.details['gptSectorSize'] = gpt.sectorSize;
      layout.details['gptHeader'] = gpt.header;
      if (mbr === undefined) {
        layout.issues.push({ severity: 'warning', code: 'gpt.no-protective-mbr', message: 'GPT disk without a protective MBR (sector 0 has no 0x55AA signature)', location: 'LBA 0' });
      } else if (mbr.hybrid) {
        layout.details['hybridMbr'] = true;
        layout.issues.push({ severity: 'info', code: 'gpt.hybrid-mbr', message: 'hybrid MBR: sector 0 lists MBR partitions next to the GPT protective entry; the GPT is used', location: 'LBA 0' });
      }
    }
  }
  if (layout.scheme !== 'none') layout.issues.push(...overlaps(layout.volumes));

  const candidates: PvCandidate[] =
    layout.scheme === 'none'
      ? [{ volumeId: 'whole', offset: 0, source: disk }]
      : layout.volumes.filter((v) => v.source !== undefined && !isExtendedContainer(v)).map((v) => ({ volumeId: v.id, offset: v.offset, source: v.source! }));
  const lvm = await scanLvm(candidates);
  layout.issues.push(...lvm.issues);
  if (layout.scheme === 'none') {
    layout.volumes = [{ id: 'whole', scheme: 'none', offset: 0, size: disk.size, source: disk, issues: [] }];
    if (lvm.pvs.length > 0) layout.scheme = 'lvm';
  }
  if (lvm.vgs.length > 0) layout.details['lvmVolumeGroups'] = lvm.vgs.map((vg) => vg.name).join(',');
  layout.volumes = insertAfterParents(layout.volumes, lvm.volumes);
  return layout;
}

function isExtendedContainer(v: Volume): boolean {
  return v.scheme === 'mbr' && v.mbrType !== undefined && (v.mbrType === 0x05 || v.mbrType === 0x0f || v.mbrType === 0x85);
}

/** A slice of the disk, or undefined with an issue when the range is outside the disk. */
function sliceOrIssue(disk: BlockSource, vol: Volume, what: string): void {
  if (!Number.isSafeInteger(vol.offset) || !Number.isSafeInteger(vol.size) || vol.offset + vol.size > disk.size) {
    vol.issues.push({ severity: 'error', code: `${vol.scheme}.partition-outside-disk`, message: `${what} [${vol.offset}, +${vol.size}) extends past the end of the disk (${disk.size} bytes)`, location: `volume ${vol.id}` });
    return;
  }
  vol.source = new SliceSource(disk, vol.offset, vol.size, `${disk.description} ${what}`);
}

function gptVolumes(disk: BlockSource, gpt: GptTable): Volume[] {
  const ss = gpt.sectorSize;
  return gpt.partitions.map((p) => {
    const vol: Volume = {
      id: `p${p.number}`,
      scheme: 'gpt',
      offset: p.firstLba * ss,
      size: (p.lastLba - p.firstLba + 1) * ss,
      source: undefined,
      partitionNumber: p.number,
      name: p.name,
      typeGuid: p.typeGuid,
      partitionGuid: p.partitionGuid,
      gptAttributes: `0x${p.attributes.toString(16).padStart(16, '0')}`,
      issues: [],
    };
    sliceOrIssue(disk, vol, `GPT partition ${p.number}`);
    return vol;
  });
}

function mbrVolumes(disk: BlockSource, mbr: MbrTable): Volume[] {
  const ss = mbr.sectorSize;
  return mbr.partitions.map((p) => {
    const vol: Volume = {
      id: `p${p.number}`,
      scheme: 'mbr',
      offset: p.startLba * ss,
      size: p.sectors * ss,
      source: undefined,
      partitionNumber: p.number,
      mbrType: p.type,
      bootable: p.bootable,
      issues: [],
    };
    sliceOrIssue(disk, vol, `MBR partition ${p.number}`);
    return vol;
  });
}

/** Overlapping partitions (other than an extended partition and its logical partitions). */
function overlaps(volumes: Volume[]): Issue[] {
  const sorted = volumes.filter((v) => !isExtendedContainer(v) && v.size > 0).sort((a, b) => a.offset - b.offset);
  const issues: Issue[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.offset < prev.offset + prev.size) {
      issues.push({ severity: 'warning', code: 'volume.overlap', message: `partitions ${prev.id} and ${cur.id} overlap`, location: `volume ${cur.id}` });
    }
  }
  return issues;
}

function insertAfterParents(volumes: Volume[], lvs: Volume[]): Volume[] {
  const byParent = new Map<string | undefined, Volume[]>();
  const ids = new Set(volumes.map((v) => v.id));
  for (const lv of lvs) {
    const key = lv.parent !== undefined && ids.has(lv.parent) ? lv.parent : undefined;
    const list = byParent.get(key) ?? [];
    list.push(lv);
    byParent.set(key, list);
  }
  const out: Volume[] = [];
  for (const v of volumes) out.push(v, ...(byParent.get(v.id) ?? []));
  out.push(...(byParent.get(undefined) ?? []));
  return out;
}
