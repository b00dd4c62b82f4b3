/**
 * The disk a VMDK descriptor describes: its extents (FLAT, SPARSE, ZERO) concatenated in order.
 *
 * Spec: VMware Virtual Disk Format 1.1, "Extent Descriptions". Extent files are opened only
 * through ProbeContext.openSibling and only by plain file names (see checkExtentFileName).
 */
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import type { Issue } from '../../../util/issues.ts';
import type { BlockSource } from '../../index.ts';
import { closeAll, type ReadPlanner } from '../mapped-source.ts';
import type { ProbeContext } from '../types.ts';
import { checkExtentFileName, checkNoParent, type Descriptor, type ExtentLine, parseDescriptor } from './descriptor.ts';
import { MAX_VIRTUAL_DISK_BYTES, SECTOR_BYTES } from './sparse-header.ts';
import { SparseExtent } from './sparse-extent.ts';

type MappedExtent =
  | { kind: 'zero'; start: number; size: number }
  | { kind: 'flat'; start: number; size: number; file: BlockSource; fileOffset: number; what: string }
  | { kind: 'sparse'; start: number; size: number; extent: SparseExtent };

export interface DescriptorDisk {
  size: number;
  plan: ReadPlanner;
  /** Extent files opened (each once), to be closed with the disk. */
  files: BlockSource[];
  sparse: SparseExtent[];
  issues: Issue[];
}

/** Parses a stand-alone descriptor and opens its extents; closes what it opened on failure. */
export async function openDescriptorDisk(text: string, context: ProbeContext): Promise<{ descriptor: Descriptor; disk: DescriptorDisk }> {
  const descriptor = parseDescriptor(text, 'VMDK descriptor');
  checkNoParent(descriptor, 'VMDK descriptor');
  if (descriptor.extents.length === 0) throw new CorruptError('VMDK descriptor lists no extents', { location: 'VMDK descriptor' });
  const openSibling = context.openSibling;
  if (!openSibling && descriptor.extents.some((e) => e.type !== 'ZERO')) {
    throw new UnsupportedError('VMDK descriptor needs its extent files: open it from a directory that holds them');
  }
  for (const e of descriptor.extents) checkExtentLine(e);

  const opened = new Map<string, BlockSource>();
  const open = async (name: string, where: string): Promise<BlockSource> => {
    checkExtentFileName(name, where);
    let file = opened.get(name);
    if (!file) {
      file = await openSibling!(name);
      opened.set(name, file);
    }
    return file;
  };
  try {
    const extents: MappedExtent[] = [];
    const sparse: SparseExtent[] = [];
    const issues: Issue[] = [];
    let start = 0;
    for (const e of descriptor.extents) {
      const where = `VMDK descriptor line ${e.line}`;
      const size = e.sectors * SECTOR_BYTES;
      if (start + size > MAX_VIRTUAL_DISK_BYTES) {
        throw new CorruptError(`VMDK extents add up to more than ${MAX_VIRTUAL_DISK_BYTES} bytes`, { location: where });
      }
      if (e.type === 'ZERO') {
        extents.push({ kind: 'zero', start, size });
      } else if (e.type === 'FLAT' || e.type === 'VMFS') {
        const file = await open(e.fileName!, where);
        const fileOffset = e.offsetSectors * SECTOR_BYTES;
        if (fileOffset + size > file.size) {
          throw new CorruptError(`VMDK flat extent '${e.fileName}' is ${file.size} bytes, shorter than its ${fileOffset + size}-byte extent`, {
            location: where,
          });
        }
        extents.push({ kind: 'flat', start, size, file, fileOffset, what: `VMDK flat extent '${e.fileName}'` });
      } else {
        const file = await open(e.fileName!, where);
        const o = await SparseExtent.open(file, `VMDK extent '${e.fileName}'`);
        if (o.extent.capacityBytes < size) {
          throw new CorruptError(`VMDK sparse extent '${e.fileName}' holds ${o.extent.capacityBytes} bytes, less than its ${size}-byte extent`, {
            location: where,
          });
        }
        issues.push(...o.issues);
        sparse.push(o.extent);
        extents.push({ kind: 'sparse', start, size, extent: o.extent });
      }
      start += size;
    }
    const disk: DescriptorDisk = { size: start, plan: planner(extents), files: [...opened.values()], sparse, issues };
    return { descriptor, disk };
  } catch (err) {
    await closeAll([...opened.values()]).catch(() => undefined);
    throw err;
  }
}

function checkExtentLine(e: ExtentLine): void {
  const where = `VMDK descriptor line ${e.line}`;
  if (e.access === 'NOACCESS') throw new UnsupportedError(`VMDK extent on line ${e.line} is NOACCESS`, { location: where });
  if (e.type === 'VMFSSPARSE') throw new UnsupportedError(`VMDK VMFSSPARSE (COWD) extent '${e.fileName}' is not supported`, { location: where });
  if (e.type === 'VMFSRDM' || e.type === 'VMFSRAW') {
    throw new UnsupportedError(`VMDK raw device extent '${e.fileName}' (${e.type}) is not supported`, { location: where });
  }
  if (e.type !== 'ZERO' && e.fileName === undefined) throw new CorruptError(`VMDK ${e.type} extent on line ${e.line} has no file name`, { location: where });
  if (e.type === 'SPARSE' && e.offsetSectors !== 0) {
    throw new UnsupportedError(`VMDK sparse extent '${e.fileName}' at a file offset is not supported`, { location: where });
  }
}

/** A planner that walks the extents in order (binary search for the first one). */
function planner(extents: MappedExtent[]): ReadPlanner {
  return async (offset, length, plan) => {
    let lo = 0;
    let hi = extents.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (extents[mid]!.start <= offset) lo = mid;
      else hi = mid - 1;
    }
    const end = offset + length;
    let pos = offset;
    for (let i = lo; i < extents.length && pos < end; i++) {
      const e = extents[i]!;
      const n = Math.min(end, e.start + e.size) - pos;
      if (n <= 0) continue;
      const inExtent = pos - e.start;
      if (e.kind === 'zero') plan.zero(n);
      else if (e.kind === 'flat') plan.host(e.file, e.fileOffset + inExtent, n, e.what, pos);
      else await e.extent.plan(inExtent, n, plan, e.start);
      pos += n;
    }
  };
}
