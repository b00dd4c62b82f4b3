/**
 * VHD (Virtual PC / Hyper-V "vpc") container decoder: fixed and dynamic disks.
 *
 * Spec: Microsoft "Virtual Hard Disk Image Format Specification" v1.0 (October 2006):
 * "Hard Disk Footer Format", "Dynamic Disk Header Format", "Block Allocation Table and Data
 * Blocks". The footer sits at the end of the file, so a fixed VHD looks raw from the front:
 * this probe runs after the formats with a magic at offset 0 and before raw.
 */
import type { BlockSource } from '../../index.ts';
import { SliceSource } from '../../slice-source.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../../util/errors.ts';
import type { Issue } from '../../../util/issues.ts';
import type { ContainerDecoder, DiskContainer } from '../types.ts';
import {
  checkDynamicGeometry,
  parseDynamicHeader,
  VHD_DYNAMIC_HEADER_BYTES,
  type VhdDynamicHeader,
} from './dynamic-header.ts';
import { VhdDynamicSource } from './dynamic-source.ts';
import {
  footerChecksumOk,
  hasCookie,
  parseFooter,
  VHD_DISK_TYPES,
  VHD_FOOTER_BYTES,
  VHD_SHORT_FOOTER_BYTES,
  vhdVirtualSize,
  type VhdFooter,
} from './footer.ts';

interface LocatedFooter {
  footer: VhdFooter;
  /** Bytes the trailing footer occupies at the end of the file (512 or 511). */
  trailerBytes: number;
}

export const vhdDecoder: ContainerDecoder = {
  id: 'vhd',
  async probe(source: BlockSource): Promise<DiskContainer> {
    const issues: Issue[] = [];
    const { footer, trailerBytes } = await locateFooter(source, issues);
    const dataEnd = source.size - trailerBytes;
    const size = vhdVirtualSize(footer);
    const baseDetails = {
      creatorApp: footer.creatorApp,
      creatorVersion: footer.creatorVersion,
      creatorHostOs: footer.creatorHostOs,
      sizeFrom: size.rule,
    };
    if (size.rule === 'chs' && size.bytes !== footer.currentSize) {
      const { cylinders, heads, sectorsPerTrack } = footer.geometry;
      issues.push({
        severity: size.bytes === 0 || size.bytes > footer.currentSize ? 'warning' : 'info',
        code: 'vhd.chs-size',
        message:
          `VHD made by '${footer.creatorApp}' is sized by its geometry ${cylinders}/${heads}/${sectorsPerTrack} (CHS): ` +
          `${size.bytes} bytes, not the footer's current size of ${footer.currentSize} bytes (as Virtual PC and qemu read it)`,
      });
    }
    if (footer.formatVersion >>> 16 !== 1) {
      throw new UnsupportedError(`VHD format version ${footer.formatVersion >>> 16}.${footer.formatVersion & 0xffff} is not supported (only 1.x)`);
    }

    if (footer.diskType === VHD_DISK_TYPES.fixed) {
      if (footer.currentSize !== dataEnd) {
        issues.push({
          severity: 'warning',
          code: 'vhd.fixed-size-mismatch',
          message: `VHD footer says the disk is ${footer.currentSize} bytes but the file holds ${dataEnd} bytes before the footer; using the file's bytes`,
        });
      }
      // A geometry-sized disk shows its CHS bytes; the rest of the file is past the guest's disk.
      const fixedEnd = size.rule === 'chs' ? Math.min(size.bytes, dataEnd) : dataEnd;
      return {
        format: 'vhd-fixed',
        source: new SliceSource(source, 0, fixedEnd, `vhd-fixed over ${source.description}`),
        details: { ...baseDetails, diskType: 'fixed' },
        issues,
      };
    }

    if (footer.diskType === VHD_DISK_TYPES.differencing) {
      let name = '';
      try {
        name = (await readDynamicHeader(source, footer, dataEnd)).parentName;
      } catch {
        // The refusal below is the answer either way; an unreadable header only loses the name.
      }
      throw new UnsupportedError(
        name ? `VHD differencing disk needs its parent '${name}'` : 'VHD differencing disk needs its parent (name unreadable)',
      );
    }

    if (footer.diskType !== VHD_DISK_TYPES.dynamic) {
      throw new UnsupportedError(`VHD disk type ${footer.diskType} is not supported (only fixed and dynamic)`);
    }

    const header = await readDynamicHeader(source, footer, dataEnd);
    const location = `VHD dynamic header at ${footer.dataOffset}`;
    checkDynamicGeometry(header, size.bytes, location);
    const entries = Math.ceil(size.bytes / header.blockSize);
    if (header.tableOffset + entries * 4 > dataEnd) {
      throw new CorruptError(
        `VHD block allocation table (${entries} entries at ${header.tableOffset}) lies past the end of the file`,
        { location },
      );
    }
    const bat = entries > 0 ? await source.read(header.tableOffset, entries * 4) : new Uint8Array(0);
    return {
      format: 'vhd-dynamic',
      source: new VhdDynamicSource(source, { virtualSize: size.bytes, blockSize: header.blockSize, bat, dataEnd }),
      details: { ...baseDetails, diskType: 'dynamic', blockSize: header.blockSize },
      issues,
    };
  },
};

/**
 * Finds the footer at the end of the file (512 bytes, or 511 for old Virtual PC images). When
 * its checksum is bad, a dynamic disk's copy at offset 0 is used instead.
 */
async function locateFooter(source: BlockSource, issues: Issue[]): Promise<LocatedFooter> {
  if (source.size < VHD_SHORT_FOOTER_BYTES) throw new NotThisFormatError('too small for a VHD footer');
  const tailBytes = Math.min(source.size, VHD_FOOTER_BYTES);
  const tail = await source.read(source.size - tailBytes, tailBytes);
  let trailerBytes: number;
  if (tailBytes === VHD_FOOTER_BYTES && hasCookie(tail, 0)) trailerBytes = VHD_FOOTER_BYTES;
  else if (hasCookie(tail, tailBytes - VHD_SHORT_FOOTER_BYTES)) trailerBytes = VHD_SHORT_FOOTER_BYTES;
  else {
    await refuseTruncatedDynamic(source);
    throw new NotThisFormatError('no VHD footer cookie "conectix" at the end of the file');
  }
  const footerBytes = new Uint8Array(VHD_FOOTER_BYTES);
  footerBytes.set(tail.subarray(tailBytes - trailerBytes));
  const location = `VHD footer at ${source.size - trailerBytes}`;
  if (footerChecksumOk(footerBytes)) return { footer: parseFooter(footerBytes, location), trailerBytes };

  const copy = source.size >= VHD_FOOTER_BYTES * 2 ? await source.read(0, VHD_FOOTER_BYTES) : undefined;
  if (copy !== undefined && hasCookie(copy) && footerChecksumOk(copy)) {
    const footer = parseFooter(copy, 'VHD footer copy at 0');
    if (footer.diskType === VHD_DISK_TYPES.dynamic || footer.diskType === VHD_DISK_TYPES.differencing) {
      issues.push({
        severity: 'warning',
        code: 'vhd.footer-checksum',
        message: 'VHD footer at the end of the file has a bad checksum; used the copy at offset 0',
        location,
      });
      return { footer, trailerBytes };
    }
  }
  throw new CorruptError('VHD footer checksum mismatch', { location });
}

/**
 * A file that starts with a valid dynamic-disk footer copy but has none at its end was cut
 * short: say so rather than letting the raw decoder present a broken disk.
 */
async function refuseTruncatedDynamic(source: BlockSource): Promise<void> {
  if (source.size < VHD_FOOTER_BYTES) return;
  const head = await source.read(0, VHD_FOOTER_BYTES);
  if (!hasCookie(head) || !footerChecksumOk(head)) return;
  const type = parseFooter(head, 'VHD footer copy at 0').diskType;
  if (type === VHD_DISK_TYPES.dynamic || type === VHD_DISK_TYPES.differencing) {
    throw new CorruptError('VHD footer copy at offset 0 is valid but the footer at the end is missing: the file is truncated', {
      location: `end of file (${source.size} bytes)`,
    });
  }
}

async function readDynamicHeader(source: BlockSource, footer: VhdFooter, dataEnd: number): Promise<VhdDynamicHeader> {
  const at = footer.dataOffset;
  if (at === undefined || at + VHD_DYNAMIC_HEADER_BYTES > dataEnd) {
    throw new CorruptError(`VHD dynamic header offset ${at ?? 'none'} lies outside the file`, { location: 'VHD footer' });
  }
  return parseDynamicHeader(await source.read(at, VHD_DYNAMIC_HEADER_BYTES), `VHD dynamic header at ${at}`);
}
