/**
 * VMDK container decoder: monolithicSparse and streamOptimized files ("KDMV" header), and text
 * descriptors (monolithicFlat, twoGbMaxExtentFlat, twoGbMaxExtentSparse, vmfs) whose extents are
 * opened beside the descriptor through ProbeContext.openSibling.
 *
 * Spec: VMware Virtual Disk Format 1.1 ("Virtual Disk Format 1.1", VMware technical note):
 * "Hosted Sparse Extent Header", "The Descriptor File", "Stream-Optimized Compressed Sparse
 * Extents". Delta disks (parentCID set) and ESX-only extents (COWD, raw device maps) are refused
 * with an UnsupportedError that names them.
 */
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../../util/errors.ts';
import type { Issue } from '../../../util/issues.ts';
import { view } from '../../../util/bytes.ts';
import type { BlockSource } from '../../index.ts';
import { MappedSource } from '../mapped-source.ts';
import type { ContainerDecoder, ContainerFormat, DiskContainer, ProbeContext } from '../types.ts';
import { openDescriptorDisk } from './extents.ts';
import { checkNoParent, DESCRIPTOR_SIGNATURE } from './descriptor.ts';
import { hasSparseMagic, MAX_DESCRIPTOR_BYTES, SECTOR_BYTES } from './sparse-header.ts';
import { SparseExtent } from './sparse-extent.ts';

/** "COWD": ESX vmfsSparse extents, a different on-disk format. */
const COWD_MAGIC = 0x44574f43;
const UTF8_BOM = '\ufeff';
const UTF8_BOM_BYTES = 3;

export const vmdkDecoder: ContainerDecoder = {
  id: 'vmdk',
  async probe(source: BlockSource, context: ProbeContext): Promise<DiskContainer> {
    if (source.size < 4) throw new NotThisFormatError('too small for VMDK');
    const head = await source.read(0, Math.min(source.size, SECTOR_BYTES));
    if (hasSparseMagic(head)) return openMonolithic(source);
    if (view(head).getUint32(0, true) === COWD_MAGIC) {
      throw new UnsupportedError('VMDK COWD (ESX vmfsSparse) extents are not supported: convert the disk with qemu-img or vmkfstools');
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, DESCRIPTOR_SIGNATURE.length + UTF8_BOM_BYTES));
    if (!text.replace(UTF8_BOM, '').startsWith(DESCRIPTOR_SIGNATURE)) throw new NotThisFormatError('no VMDK magic or descriptor');
    return openDescriptor(source, context);
  },
};

async function openMonolithic(source: BlockSource): Promise<DiskContainer> {
  const { extent, header, descriptor, issues } = await SparseExtent.open(source, 'VMDK');
  if (descriptor) checkNoParent(descriptor, 'VMDK embedded descriptor');
  if (descriptor && descriptor.extents.length > 1) {
    issues.push({
      severity: 'warning',
      code: 'vmdk.one-extent-of-many',
      message: `this file is one of ${descriptor.extents.length} extents of a VMDK disk: open the descriptor to read the whole disk`,
      location: 'VMDK embedded descriptor',
    });
  }
  const decoded = new MappedSource({
    size: extent.capacityBytes,
    description: `vmdk over ${source.description}`,
    planner: (offset, length, plan) => extent.plan(offset, length, plan, 0),
    sources: [source],
  });
  return {
    format: extent.compressed ? 'vmdk-stream' : 'vmdk-sparse',
    source: decoded,
    details: {
      createType: descriptor?.createType ?? (extent.compressed ? 'streamOptimized' : 'monolithicSparse'),
      grainSize: header.grainSectors * SECTOR_BYTES,
      compressed: extent.compressed,
      version: header.version,
      extents: 1,
      virtualSize: extent.capacityBytes,
    },
    issues,
  };
}

async function openDescriptor(source: BlockSource, context: ProbeContext): Promise<DiskContainer> {
  if (source.size > MAX_DESCRIPTOR_BYTES) {
    throw new CorruptError(`VMDK descriptor file of ${source.size} bytes exceeds ${MAX_DESCRIPTOR_BYTES} bytes`, { location: 'descriptor' });
  }
  const buf = await source.read(0, source.size);
  let end = buf.indexOf(0);
  if (end < 0) end = buf.length;
  const { descriptor, disk } = await openDescriptorDisk(
    new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(0, end)).replace(UTF8_BOM, ''),
    context,
  );
  const issues: Issue[] = [...disk.issues];
  const sources = [source, ...disk.files];
  let format: ContainerFormat = 'vmdk-flat';
  if (disk.sparse.some((e) => e.compressed)) format = 'vmdk-stream';
  else if (disk.sparse.length > 0) format = 'vmdk-sparse';
  const firstSparse = disk.sparse[0];
  const details: DiskContainer['details'] = {
    createType: descriptor.createType ?? 'unknown',
    compressed: format === 'vmdk-stream',
    extents: descriptor.extents.length,
    virtualSize: disk.size,
  };
  if (firstSparse) details['grainSize'] = firstSparse.header.grainSectors * SECTOR_BYTES;
  const decoded = new MappedSource({ size: disk.size, description: `vmdk over ${source.description}`, planner: disk.plan, sources });
  return { format, source: decoded, details, issues };
}
