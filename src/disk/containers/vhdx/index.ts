/**
 * VHDX (Hyper-V) container decoder: fixed and dynamic disks, with log replay in memory.
 *
 * Spec: [MS-VHDX] "Virtual Hard Disk v2 (VHDX) File Format" (Microsoft Open Specifications,
 * current revision): 2.2 header section, 2.3 log, 2.5 BAT, 2.6 metadata region. Open order per 2.3.3:
 * headers first, then the log is replayed, and only then are the region table, metadata and BAT
 * read (through the replayed view, since the log may have rewritten them).
 */
import type { BlockSource } from '../../index.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../../util/errors.ts';
import type { Issue } from '../../../util/issues.ts';
import type { ContainerDecoder, DiskContainer } from '../types.ts';
import { batGeometry, MAX_BAT_BYTES } from './bat.ts';
import { chooseHeader, creatorOf, hasLog, hasSignature, parseHeader, VHDX_HEADER_BYTES, VHDX_HEADER_OFFSETS } from './header.ts';
import { replayLog } from './log.ts';
import { parentPath, readMetadata } from './metadata.ts';
import { OverlaySource } from './overlay-source.ts';
import { parseRegionTable, VHDX_REGION_TABLE_BYTES, VHDX_REGION_TABLE_OFFSETS, type RegionTable } from './region-table.ts';
import { VhdxSource } from './vhdx-source.ts';

/** File identifier, both headers and both region tables: read together in one read. */
const HEAD_READ_BYTES = VHDX_REGION_TABLE_OFFSETS[1] + VHDX_REGION_TABLE_BYTES;
const FILE_ID_READ_BYTES = 1024;

export const vhdxDecoder: ContainerDecoder = {
  id: 'vhdx',
  async probe(source: BlockSource): Promise<DiskContainer> {
    if (source.size < 8) throw new NotThisFormatError('too small for a VHDX file identifier');
    const sig = await source.read(0, Math.min(source.size, FILE_ID_READ_BYTES));
    if (!hasSignature(sig)) throw new NotThisFormatError('no VHDX signature "vhdxfile"');
    if (source.size < HEAD_READ_BYTES) {
      throw new CorruptError(`VHDX file is ${source.size} bytes, shorter than its header section: truncated`, { location: 'VHDX header section' });
    }
    const head = await source.read(0, HEAD_READ_BYTES);
    const issues: Issue[] = [];

    const headers = VHDX_HEADER_OFFSETS.map((off, i) => parseHeader(head.subarray(off, off + VHDX_HEADER_BYTES), (i + 1) as 1 | 2));
    const { header, otherInvalid } = chooseHeader(headers[0]!, headers[1]!);
    if (otherInvalid) {
      issues.push({ severity: 'warning', code: 'vhdx.header-invalid', message: `VHDX ${otherInvalid}; using header ${header.copy}` });
    }

    let file: BlockSource = source;
    let tableBytes = head;
    if (hasLog(header)) {
      const replay = await replayLog(source, header);
      if (replay.entries > 0) {
        file = new OverlaySource(source, replay.overlay, replay.fileSize);
        tableBytes = await file.read(0, HEAD_READ_BYTES);
        const [first, last] = replay.sequences!;
        issues.push({
          severity: 'info',
          code: 'vhdx.log-replayed',
          message: `VHDX log was not empty (the image was not closed cleanly): replayed ${replay.entries} entries (sequence ${first}..${last}) in memory`,
          location: `VHDX log at ${header.logOffset}`,
        });
      } else {
        issues.push({
          severity: 'warning',
          code: 'vhdx.log-no-active-sequence',
          message: 'VHDX header names a log but the log holds no valid entry sequence; read the file as it is',
          location: `VHDX log at ${header.logOffset}`,
        });
      }
    }

    const regions = chooseRegionTable(tableBytes, file.size, issues);
    const meta = await readMetadata(file, regions.metadata);
    if (meta.hasParent) {
      const parent = parentPath(meta.parentLocator);
      throw new UnsupportedError(
        parent ? `VHDX differencing disk needs its parent '${parent}'` : 'VHDX differencing disk needs its parent (no parent path in its locator)',
      );
    }

    const geometry = batGeometry(meta.virtualDiskSize, meta.blockSize, meta.logicalSectorSize);
    const batBytes = geometry.entries * 8;
    const location = `VHDX BAT at ${regions.bat.offset}`;
    if (batBytes > regions.bat.length) {
      throw new CorruptError(`VHDX BAT region (${regions.bat.length} bytes) is too small for ${geometry.entries} entries`, { location });
    }
    if (batBytes > MAX_BAT_BYTES) {
      throw new UnsupportedError(`VHDX BAT of ${batBytes} bytes exceeds the ${MAX_BAT_BYTES}-byte limit`, { location });
    }
    const bat = batBytes > 0 ? await file.read(regions.bat.offset, batBytes) : new Uint8Array(0);

    return {
      format: 'vhdx',
      source: new VhdxSource(file, {
        virtualSize: meta.virtualDiskSize,
        blockSize: meta.blockSize,
        logicalSectorSize: meta.logicalSectorSize,
        chunkRatio: geometry.chunkRatio,
        bat,
      }),
      details: {
        creator: creatorOf(sig),
        blockSize: meta.blockSize,
        logicalSectorSize: meta.logicalSectorSize,
        physicalSectorSize: meta.physicalSectorSize,
        leaveBlockAllocated: meta.leaveBlockAllocated,
      },
      issues,
    };
  },
};

function chooseRegionTable(head: Uint8Array, fileSize: number, issues: Issue[]): RegionTable {
  const reasons: string[] = [];
  for (const [i, off] of VHDX_REGION_TABLE_OFFSETS.entries()) {
    const location = `VHDX region table ${i + 1} at ${off}`;
    const t = parseRegionTable(head.subarray(off, off + VHDX_REGION_TABLE_BYTES), fileSize, location);
    if (typeof t !== 'string') {
      if (i > 0) issues.push({ severity: 'warning', code: 'vhdx.region-table-invalid', message: `VHDX region table 1: ${reasons[0]}; using copy 2` });
      return t;
    }
    reasons.push(t);
  }
  throw new CorruptError(`both VHDX region tables are invalid (${reasons.join('; ')})`, { location: 'VHDX region tables' });
}
