/**
 * The qcow2 header and its header extensions.
 *
 * Spec: QEMU docs/interop/qcow2.txt (QEMU 7.2–9.x), sections "Header", "Additional fields",
 * "Header extensions", "Feature name table". All numbers are big-endian.
 */
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { u64be, view } from '../../../util/bytes.ts';
import { MiB } from '../../../util/units.ts';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** Smallest header we can read: the version 2 header. */
export const V2_HEADER_BYTES = 72;
/** Version 3 headers are at least this long (up to and including header_length). */
export const V3_MIN_HEADER_BYTES = 104;
/** qcow2.txt: cluster_bits must be between 9 (512 B) and 21 (2 MiB). */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** QEMU refuses L1 tables above 32 MiB (QCOW_MAX_L1_SIZE); so do we. */
export const MAX_L1_TABLE_BYTES = 32 * MiB;
export const MAX_L1_ENTRIES = MAX_L1_TABLE_BYTES / 8;
/** QEMU limits backing file names to 1023 bytes. */
export const MAX_BACKING_NAME_BYTES = 1023;
/** External data file names and backing formats are short strings; bound them the same way. */
export const MAX_NAME_EXTENSION_BYTES = 1023;
/** Step budget for the header extension walk. */
export const MAX_HEADER_EXTENSIONS = 256;

/** Incompatible feature bits (qcow2.txt "incompatible_features"). */
export const INCOMPAT_DIRTY = 1 << 0;
export const INCOMPAT_CORRUPT = 1 << 1;
export const INCOMPAT_DATA_FILE = 1 << 2;
export const INCOMPAT_COMPRESSION = 1 << 3;
export const INCOMPAT_EXTENDED_L2 = 1 << 4;
const KNOWN_INCOMPAT = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTENDED_L2;

const EXT_END = 0x00000000;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_NAMES = 0x6803f857;
const EXT_DATA_FILE = 0x44415441;
const FEATURE_NAME_ENTRY_BYTES = 48;

export const COMPRESSION_TYPES = ['zlib', 'zstd'] as const;
export type CompressionType = (typeof COMPRESSION_TYPES)[number];

export const CRYPT_METHODS: Readonly<Record<number, string>> = { 1: 'AES', 2: 'LUKS' };

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  clusterSize: number;
  /** Virtual disk size in bytes. */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  backingFileOffset: number;
  backingFileSize: number;
  nbSnapshots: number;
  /** Low 32 bits of incompatible_features (the high bits must be zero: checked). */
  incompatible: number;
  headerLength: number;
  compressionType: CompressionType;
  extendedL2: boolean;
}

export interface Qcow2Extensions {
  backingFormat?: string;
  externalDataFile?: string;
  /** "incompatible:5" → "some feature": names of feature bits the image declares. */
  featureNames: Map<string, string>;
}

/** Parses the fixed header from the first bytes of the image (at least V2_HEADER_BYTES). */
export function parseHeader(buf: Uint8Array): Qcow2Header {
  if (buf.length < V2_HEADER_BYTES) throw new CorruptError(`qcow2 header truncated: ${buf.length} bytes`, { location: 'header' });
  const dv = view(buf);
  const version = dv.getUint32(4);
  if (version === 1) throw new UnsupportedError('qcow version 1 images are not supported (convert with qemu-img to qcow2)');
  if (version !== 2 && version !== 3) throw new UnsupportedError(`qcow2 version ${version} is not supported`);
  const clusterBits = dv.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new CorruptError(`qcow2 cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`, {
      location: 'header cluster_bits',
    });
  }
  const clusterSize = 2 ** clusterBits;
  let incompatible = 0;
  let headerLength = V2_HEADER_BYTES;
  let compressionType: CompressionType = 'zlib';
  if (version === 3) {
    if (buf.length < V3_MIN_HEADER_BYTES) throw new CorruptError(`qcow2 v3 header truncated: ${buf.length} bytes`, { location: 'header' });
    if (dv.getUint32(72) !== 0) {
      throw new UnsupportedError(`qcow2 image uses unknown incompatible features (bits 32-63: 0x${dv.getUint32(72).toString(16)})`);
    }
    incompatible = dv.getUint32(76);
    headerLength = dv.getUint32(100);
    if (headerLength < V3_MIN_HEADER_BYTES || headerLength % 8 !== 0 || headerLength > clusterSize) {
      throw new CorruptError(`qcow2 header_length ${headerLength} is invalid`, { location: 'header header_length' });
    }
    if (headerLength > V3_MIN_HEADER_BYTES) {
      if (buf.length <= V3_MIN_HEADER_BYTES) throw new CorruptError('qcow2 header truncated before compression_type', { location: 'header' });
      const type = buf[104]!;
      const name = COMPRESSION_TYPES[type];
      if (name === undefined) throw new UnsupportedError(`qcow2 compression type ${type} is not supported`);
      compressionType = name;
    }
    const declared = (incompatible & INCOMPAT_COMPRESSION) !== 0;
    if (declared !== (compressionType !== 'zlib')) {
      throw new CorruptError(`qcow2 compression type ${compressionType} does not match the compression-type feature bit`, {
        location: 'header compression_type',
      });
    }
  }
  const extendedL2 = (incompatible & INCOMPAT_EXTENDED_L2) !== 0;
  // 32 subclusters of at least 512 bytes each: QEMU needs 16 KiB clusters for extended L2.
  if (extendedL2 && clusterBits < 14) {
    throw new CorruptError(`qcow2 extended L2 entries need clusters of 16 KiB or more (cluster_bits ${clusterBits})`, {
      location: 'header cluster_bits',
    });
  }
  return {
    version,
    clusterBits,
    clusterSize,
    backingFileOffset: u64be(dv, 8, 'qcow2 backing_file_offset'),
    backingFileSize: dv.getUint32(16),
    size: u64be(dv, 24, 'qcow2 size'),
    cryptMethod: dv.getUint32(32),
    l1Size: dv.getUint32(36),
    l1TableOffset: u64be(dv, 40, 'qcow2 l1_table_offset'),
    nbSnapshots: dv.getUint32(60),
    incompatible,
    headerLength,
    compressionType,
    extendedL2,
  };
}

/** Incompatible feature bits we cannot honour, named from the image's own feature table. */
export function unknownIncompatibleFeatures(header: Qcow2Header, ext: Qcow2Extensions): string[] {
  const unknown: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const mask = 2 ** bit;
    if ((header.incompatible & mask) === 0 || (KNOWN_INCOMPAT & mask) !== 0) continue;
    const name = ext.featureNames.get(`incompatible:${bit}`);
    unknown.push(name === undefined ? `bit ${bit}` : `bit ${bit} '${name}'`);
  }
  return unknown;
}

/** Walks the header extensions that follow the header inside the first cluster. */
export function parseExtensions(cluster: Uint8Array, header: Qcow2Header): Qcow2Extensions {
  const dv = view(cluster);
  const ext: Qcow2Extensions = { featureNames: new Map() };
  let pos = header.headerLength;
  for (let step = 0; ; step++) {
    if (step >= MAX_HEADER_EXTENSIONS) {
      throw new CorruptError(`qcow2 has more than ${MAX_HEADER_EXTENSIONS} header extensions`, { location: `header extension at ${pos}` });
    }
    // The area may simply end at the end of the cluster without a terminator in odd images.
    if (pos + 8 > cluster.length) break;
    const type = dv.getUint32(pos);
    const length = dv.getUint32(pos + 4);
    if (type === EXT_END) break;
    const start = pos + 8;
    if (length > cluster.length - start) {
      throw new CorruptError(`qcow2 header extension 0x${type.toString(16)} of ${length} bytes overruns the header cluster`, {
        location: `header extension at ${pos}`,
      });
    }
    const data = cluster.subarray(start, start + length);
    if (type === EXT_BACKING_FORMAT) ext.backingFormat = boundedString(data, 'backing format');
    else if (type === EXT_DATA_FILE) ext.externalDataFile = boundedString(data, 'external data file name');
    else if (type === EXT_FEATURE_NAMES) {
      for (let off = 0; off + FEATURE_NAME_ENTRY_BYTES <= data.length; off += FEATURE_NAME_ENTRY_BYTES) {
        const kind = ['incompatible', 'compatible', 'autoclear'][data[off]!] ?? `type${data[off]!}`;
        ext.featureNames.set(`${kind}:${data[off + 1]!}`, printable(data.subarray(off + 2, off + FEATURE_NAME_ENTRY_BYTES)));
      }
    }
    pos = start + Math.ceil(length / 8) * 8;
  }
  return ext;
}

function boundedString(data: Uint8Array, what: string): string {
  if (data.length > MAX_NAME_EXTENSION_BYTES) throw new CorruptError(`qcow2 ${what} is ${data.length} bytes long`, { location: `header ${what}` });
  return printable(data);
}

/** A name from the image for messages: up to the first NUL, control characters replaced. */
export function printable(data: Uint8Array): string {
  let end = data.indexOf(0);
  if (end < 0) end = data.length;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(0, end));
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? '?' : ch;
  }
  return out;
}

/** The magic check: only a wrong magic means "not qcow2". */
export function hasQcow2Magic(buf: Uint8Array): boolean {
  return buf.length >= 4 && view(buf).getUint32(0) === QCOW2_MAGIC;
}
