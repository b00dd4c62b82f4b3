/**
 * volume/ — partition tables and volume managers. Central interface: {@link Volume}.
 *
 * A probe turns a decoded disk (BlockSource) into Volume[]: GPT, MBR (with extended/logical
 * partitions), LVM2 logical volumes inside any of those, or the whole disk when it holds a bare
 * filesystem. Each volume is itself a BlockSource window. Filesystem detection is not done here
 * (fs/ sits above volume/ in the flow); the composition root annotates volumes with it.
 */
import type { BlockSource } from '../disk/index.ts';
import type { Issue } from '../util/issues.ts';

export type VolumeScheme = 'gpt' | 'mbr' | 'lvm' | 'none';

export interface Volume {
  /** Stable id within the disk: "p1" (partition number), "p5" (logical), "lvm:vg0/root", "whole". */
  id: string;
  scheme: VolumeScheme;
  /** Bytes from the start of the virtual disk (for an LV, of its first extent). */
  offset: number;
  size: number;
  /** The volume's bytes; undefined when the volume cannot be read (see issues). */
  source: BlockSource | undefined;
  /** GPT/MBR partition number (1-based; logical MBR partitions start at 5). */
  partitionNumber?: number;
  /** GPT partition name, or the LV name. */
  name?: string;
  /** GPT partition type GUID (upper case). */
  typeGuid?: string;
  /** GPT unique partition GUID. */
  partitionGuid?: string;
  /** GPT partition attribute bits as hex ("0x8000000000000004"). */
  gptAttributes?: string;
  /** MBR partition type byte. */
  mbrType?: number;
  /** Whether the MBR partition has the boot flag. */
  bootable?: boolean;
  /** LVM: volume group name, LV segment type(s), the PV(s) it lives on. */
  lvm?: { vg: string; lv: string; segments: string[]; pvs: string[] };
  /** Where the volume came from when nested: the id of the partition holding the LVM PV. */
  parent?: string;
  /** Why this volume could not be read, or what is odd about it. */
  issues: Issue[];
}

export interface VolumeLayout {
  /** Outermost scheme found on the disk. */
  scheme: VolumeScheme;
  /** Every volume, including LVs nested in partitions, in disk order. */
  volumes: Volume[];
  /** Disk-level findings: backup GPT used, CRC mismatches, overlapping partitions. */
  issues: Issue[];
  /** Scheme facts: GPT disk GUID, MBR disk signature, LVM VG names. */
  details: Record<string, string | number | boolean>;
}
