/**
 * qcow2 container decoder (QEMU copy-on-write v2 and v3 images).
 *
 * Spec: QEMU docs/interop/qcow2.txt (QEMU 7.2–9.x): "Header", "Header extensions", "Cluster
 * mapping", "Extended L2 Entries". Reads the active L1/L2 tables only: refcounts and internal
 * snapshots are not needed to read the current disk. Backing files, encryption and external
 * data files are refused with an UnsupportedError that names them.
 */
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../../util/errors.ts';
import type { Issue } from '../../../util/issues.ts';
import { view } from '../../../util/bytes.ts';
import type { BlockSource } from '../../index.ts';
import { MappedSource } from '../mapped-source.ts';
import type { ContainerDecoder, DiskContainer } from '../types.ts';
import { ClusterMap } from './cluster-map.ts';
import {
  CRYPT_METHODS,
  hasQcow2Magic,
  INCOMPAT_CORRUPT,
  INCOMPAT_DATA_FILE,
  INCOMPAT_DIRTY,
  MAX_BACKING_NAME_BYTES,
  MAX_L1_ENTRIES,
  parseExtensions,
  parseHeader,
  printable,
  type Qcow2Header,
  unknownIncompatibleFeatures,
} from './header.ts';
import { entryOffset } from './l2-entry.ts';

/** Enough for the fixed header and its common extensions; the full first cluster is read after. */
const HEADER_PROBE_BYTES = 4096;

export const qcow2Decoder: ContainerDecoder = {
  id: 'qcow2',
  async probe(source: BlockSource): Promise<DiskContainer> {
    if (source.size < 4) throw new NotThisFormatError('too small for qcow2');
    const first = await source.read(0, Math.min(source.size, HEADER_PROBE_BYTES));
    if (!hasQcow2Magic(first)) throw new NotThisFormatError('no qcow2 magic');
    const header = parseHeader(first);
    if (source.size < header.clusterSize) {
      throw new CorruptError(`qcow2 image is truncated: ${source.size} bytes, smaller than one ${header.clusterSize}-byte cluster`, {
        location: 'header',
      });
    }
    const headerCluster = header.clusterSize <= first.length ? first.subarray(0, header.clusterSize) : await source.read(0, header.clusterSize);
    const ext = parseExtensions(headerCluster, header);

    const unknown = unknownIncompatibleFeatures(header, ext);
    if (unknown.length > 0) throw new UnsupportedError(`qcow2 image uses unknown incompatible features: ${unknown.join(', ')}`);
    if ((header.incompatible & INCOMPAT_DATA_FILE) !== 0) {
      const name = ext.externalDataFile === undefined ? '' : ` '${ext.externalDataFile}'`;
      throw new UnsupportedError(`qcow2 image keeps its data in an external data file${name}: open the data file instead`);
    }
    if (header.backingFileOffset !== 0) {
      const name = await readBackingName(source, header);
      throw new UnsupportedError(
        `qcow2 image needs its backing file '${name}': open the chain's base image, or flatten it with qemu-img convert`,
      );
    }
    if (header.cryptMethod !== 0) {
      const method = CRYPT_METHODS[header.cryptMethod] ?? `method ${header.cryptMethod}`;
      throw new UnsupportedError(`qcow2 image is encrypted (${method}): encrypted images are not supported`);
    }

    const issues: Issue[] = [];
    if ((header.incompatible & INCOMPAT_DIRTY) !== 0) {
      issues.push({
        severity: 'warning',
        code: 'qcow2.dirty',
        message: 'qcow2 image was not closed cleanly (dirty bit): refcounts may be stale, data mapping is read as is',
        location: 'header incompatible_features',
      });
    }
    if ((header.incompatible & INCOMPAT_CORRUPT) !== 0) {
      issues.push({
        severity: 'warning',
        code: 'qcow2.corrupt-bit',
        message: 'qcow2 image is marked corrupt by QEMU: some data may be wrong',
        location: 'header incompatible_features',
      });
    }

    const l1 = await readL1(source, header);
    const map = new ClusterMap(source, header, l1);
    const decoded = new MappedSource({
      size: header.size,
      description: `qcow2 over ${source.description}`,
      planner: map.plan,
      sources: [source],
    });
    return {
      format: 'qcow2',
      source: decoded,
      details: {
        version: header.version,
        clusterSize: header.clusterSize,
        compressionType: header.compressionType,
        extendedL2: header.extendedL2,
        virtualSize: header.size,
        snapshots: header.nbSnapshots,
      },
      issues,
    };
  },
};

async function readBackingName(source: BlockSource, header: Qcow2Header): Promise<string> {
  const { backingFileOffset: offset, backingFileSize: size } = header;
  if (size === 0 || size > MAX_BACKING_NAME_BYTES || offset + size > source.size) {
    throw new CorruptError(`qcow2 backing file name (offset ${offset}, ${size} bytes) is invalid`, { location: 'header backing_file_offset' });
  }
  return printable(await source.read(offset, size));
}

/** Reads the L1 entries that map the virtual disk and checks that each L2 table is in the image. */
async function readL1(source: BlockSource, header: Qcow2Header): Promise<Float64Array> {
  const l2Entries = header.clusterSize / (header.extendedL2 ? 16 : 8);
  const coverage = header.clusterSize * l2Entries;
  const needed = Math.ceil(header.size / coverage);
  if (header.l1Size > MAX_L1_ENTRIES) {
    throw new CorruptError(`qcow2 l1_size ${header.l1Size} exceeds ${MAX_L1_ENTRIES} entries`, { location: 'header l1_size' });
  }
  if (header.l1Size < needed) {
    throw new CorruptError(`qcow2 l1_size ${header.l1Size} is too small for a ${header.size}-byte disk (needs ${needed})`, {
      location: 'header l1_size',
    });
  }
  if (needed === 0) return new Float64Array(0);
  const offset = header.l1TableOffset;
  if (offset % header.clusterSize !== 0 || offset === 0 || offset + needed * 8 > source.size) {
    throw new CorruptError(`qcow2 L1 table at ${offset} (${needed} entries) is misaligned or past the end of the image`, {
      location: 'header l1_table_offset',
    });
  }
  const l1 = new Float64Array(needed);
  const dv = view(await source.read(offset, needed * 8));
  for (let i = 0; i < needed; i++) {
    const l2 = entryOffset(dv.getUint32(i * 8), dv.getUint32(i * 8 + 4));
    if (l2 !== 0 && (l2 < 0 || l2 % header.clusterSize !== 0 || l2 + header.clusterSize > source.size)) {
      throw new CorruptError(`qcow2 L1[${i}] points to an L2 table at ${l2}, misaligned or past the end of the image (size ${source.size})`, {
        location: `L1[${i}]`,
      });
    }
    l1[i] = l2;
  }
  return l1;
}
