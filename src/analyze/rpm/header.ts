/**
 * The rpm header blob as the package database stores it: no lead, no magic, just
 *
 *   il (u32 BE, index entries) | dl (u32 BE, data bytes) | il × 16-byte entries | dl data bytes
 *
 * each entry being tag (i32), type (u32), offset into the data (i32), count (u32), all big
 * endian (rpm docs/manual/format.md "Header", docs/manual/hregions.md; lib/header.c
 * `hdrblobInit` / `hdrblobVerifyInfo` at rpm-4.18.0, whose limits we keep). An installed
 * header normally starts with the immutable region tag (HEADERIMMUTABLE) and ends with
 * "dribble" entries rpm added at install time; rpm lets a dribble entry replace a region entry
 * of the same tag, so the last entry of a tag wins here too.
 *
 * Only the tags the inventory needs are decoded, lazily, and every offset, count and string is
 * checked against the data area before it is read.
 */
import { CorruptError } from '../../util/errors.ts';
import type { FileDigest } from '../../inventory/index.ts';

/** rpm's HEADER_TAGS_MAX (lib/header_internal.h): more index entries is a corrupt blob. */
export const MAX_HEADER_INDEX_ENTRIES = 0xffff;
/** rpm's HEADER_DATA_MAX (lib/header_internal.h): 256 MiB of tag data. */
export const MAX_HEADER_DATA_BYTES = 0x0fffffff;
/** Largest blob accepted: the intro, a full index and a full data area. */
export const MAX_HEADER_BLOB_BYTES = 8 + 16 * MAX_HEADER_INDEX_ENTRIES + MAX_HEADER_DATA_BYTES;
/** Longest single string value read (a name, a path, a license line). */
export const MAX_HEADER_STRING_BYTES = 1024 * 1024;

const ENTRY_BYTES = 16;
const INTRO_BYTES = 8;

/** rpmTagType (include/rpm/rpmtag.h). */
export const RPM_TYPE = {
  NULL: 0, CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9,
} as const;

/** The tags read (include/rpm/rpmtag.h). */
export const RPM_TAG = {
  HEADERIMMUTABLE: 63,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  VENDOR: 1011,
  LICENSE: 1014,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  FILEMODES: 1030,
  FILEDIGESTS: 1035,
  FILEFLAGS: 1037,
  SOURCERPM: 1044,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  FILEDIGESTALGO: 5011,
} as const;

/**
 * FILEDIGESTALGO values are OpenPGP hash algorithm ids (RFC 4880 §9.4; rpm's pgpHashAlgo in
 * include/rpm/rpmpgp.h). A header without the tag uses MD5 (rpm's default before 4.6).
 */
export const PGP_HASH_ALGOS: Readonly<Record<number, FileDigest['algorithm']>> = {
  1: 'md5', 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224',
};
const DIGEST_HEX_LENGTH: Readonly<Record<FileDigest['algorithm'], number>> = {
  md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128,
};

/** RPMFILE_GHOST (include/rpm/rpmfiles.h): the file is not in the payload. */
export const RPMFILE_GHOST = 1 << 6;

interface Entry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

export interface RpmFile {
  /** Absolute path as installed. */
  path: string;
  /** Lowercase hex; "" for directories, symlinks, ghosts and other files without content. */
  digest: string;
  mode?: number;
  flags?: number;
}

export interface RpmHeader {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  vendor?: string;
  license?: string;
  /** The digest algorithm of `files[*].digest`, undefined when FILEDIGESTALGO names one we do not know. */
  digestAlgorithm?: FileDigest['algorithm'];
  /** Raw FILEDIGESTALGO (1 = MD5 when the tag is absent). */
  digestAlgorithmId: number;
  files: RpmFile[];
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Index entries and data area of one blob, each value checked against the data bounds on read. */
export class HeaderBlob {
  readonly #data: Uint8Array;
  readonly #dv: DataView;
  readonly #entries = new Map<number, Entry>();

  constructor(blob: Uint8Array) {
    if (blob.length < INTRO_BYTES) throw new CorruptError(`rpm header: ${blob.length} bytes is shorter than its intro`, { location: 'intro' });
    if (blob.length > MAX_HEADER_BLOB_BYTES) throw new CorruptError(`rpm header: ${blob.length} bytes exceeds ${MAX_HEADER_BLOB_BYTES}`, { location: 'intro' });
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const il = dv.getUint32(0, false);
    const dl = dv.getUint32(4, false);
    if (il < 1 || il > MAX_HEADER_INDEX_ENTRIES) throw new CorruptError(`rpm header: ${il} index entries (1..${MAX_HEADER_INDEX_ENTRIES})`, { location: 'intro' });
    if (dl > MAX_HEADER_DATA_BYTES) throw new CorruptError(`rpm header: data length ${dl} exceeds ${MAX_HEADER_DATA_BYTES}`, { location: 'intro' });
    const dataStart = INTRO_BYTES + il * ENTRY_BYTES;
    // rpm's hdrblobInit refuses a blob whose size is not exactly intro + index + data.
    if (dataStart + dl !== blob.length) {
      throw new CorruptError(`rpm header: size ${blob.length} is not 8 + 16 × ${il} + ${dl}`, { location: 'intro' });
    }
    this.#data = blob.subarray(dataStart, dataStart + dl);
    this.#dv = new DataView(blob.buffer, blob.byteOffset + dataStart, dl);
    for (let i = 0; i < il; i++) {
      const at = INTRO_BYTES + i * ENTRY_BYTES;
      const e: Entry = { tag: dv.getInt32(at, false), type: dv.getUint32(at + 4, false), offset: dv.getInt32(at + 8, false), count: dv.getUint32(at + 12, false) };
      if (e.type > RPM_TYPE.I18NSTRING) throw new CorruptError(`rpm header: entry ${i} (tag ${e.tag}) has unknown type ${e.type}`, { location: `index entry ${i}` });
      if (e.offset < 0 || e.offset > dl) throw new CorruptError(`rpm header: entry ${i} (tag ${e.tag}) offset ${e.offset} is outside the ${dl}-byte data`, { location: `index entry ${i}` });
      if (e.count > dl && e.type !== RPM_TYPE.NULL) throw new CorruptError(`rpm header: entry ${i} (tag ${e.tag}) count ${e.count} exceeds the data length ${dl}`, { location: `index entry ${i}` });
      this.#entries.set(e.tag, e);
    }
  }

  has(tag: number): boolean {
    return this.#entries.has(tag);
  }

  /** The first string of a STRING, I18NSTRING or STRING_ARRAY entry. */
  string(tag: number): string | undefined {
    const e = this.#entries.get(tag);
    if (e === undefined) return undefined;
    if (e.type !== RPM_TYPE.STRING && e.type !== RPM_TYPE.I18NSTRING && e.type !== RPM_TYPE.STRING_ARRAY) {
      throw new CorruptError(`rpm header: tag ${tag} has type ${e.type}, not a string`, { location: `tag ${tag}` });
    }
    return this.#readString(e.offset, tag).value;
  }

  strings(tag: number): string[] | undefined {
    const e = this.#entries.get(tag);
    if (e === undefined) return undefined;
    if (e.type !== RPM_TYPE.STRING_ARRAY) throw new CorruptError(`rpm header: tag ${tag} has type ${e.type}, not a string array`, { location: `tag ${tag}` });
    const out: string[] = [];
    let at = e.offset;
    for (let i = 0; i < e.count; i++) {
      const s = this.#readString(at, tag);
      out.push(s.value);
      at = s.next;
    }
    return out;
  }

  /** INT32 (or INT16 / INT8 / CHAR, widened) values. */
  ints(tag: number): number[] | undefined {
    const e = this.#entries.get(tag);
    if (e === undefined) return undefined;
    const width = e.type === RPM_TYPE.INT32 ? 4 : e.type === RPM_TYPE.INT16 ? 2 : e.type === RPM_TYPE.INT8 || e.type === RPM_TYPE.CHAR ? 1 : 0;
    if (width === 0) throw new CorruptError(`rpm header: tag ${tag} has type ${e.type}, not an integer`, { location: `tag ${tag}` });
    // rpm's hdrchkAlign: integer data is aligned to its width within the data area.
    if (e.offset % width !== 0) throw new CorruptError(`rpm header: tag ${tag} offset ${e.offset} is not ${width}-byte aligned`, { location: `tag ${tag}` });
    if (e.offset + e.count * width > this.#data.length) {
      throw new CorruptError(`rpm header: tag ${tag} (${e.count} × ${width} bytes at ${e.offset}) runs past the ${this.#data.length}-byte data`, { location: `tag ${tag}` });
    }
    const out = new Array<number>(e.count);
    for (let i = 0; i < e.count; i++) {
      const at = e.offset + i * width;
      out[i] = width === 4 ? this.#dv.getUint32(at, false) : width === 2 ? this.#dv.getUint16(at, false) : this.#dv.getUint8(at);
    }
    return out;
  }

  #readString(start: number, tag: number): { value: string; next: number } {
    const data = this.#data;
    const limit = Math.min(data.length, start + MAX_HEADER_STRING_BYTES);
    const nul = data.indexOf(0, start);
    if (nul < 0 || nul >= limit) {
      throw new CorruptError(`rpm header: tag ${tag} string at ${start} has no terminating NUL within ${limit - start} bytes`, { location: `tag ${tag}` });
    }
    return { value: decoder.decode(data.subarray(start, nul)), next: nul + 1 };
  }
}

/** Decodes the inventory's tags from one header blob (throws CorruptError on a bad blob). */
export function parseHeader(blob: Uint8Array): RpmHeader {
  const h = new HeaderBlob(blob);
  const name = h.string(RPM_TAG.NAME);
  const version = h.string(RPM_TAG.VERSION);
  const release = h.string(RPM_TAG.RELEASE);
  if (name === undefined || version === undefined || release === undefined) {
    throw new CorruptError('rpm header: NAME, VERSION or RELEASE is missing', { location: 'tags' });
  }
  const out: RpmHeader = { name, version, release, digestAlgorithmId: 1, files: [] };
  const epoch = h.ints(RPM_TAG.EPOCH);
  if (epoch !== undefined && epoch.length > 0) out.epoch = epoch[0]!;
  const arch = h.string(RPM_TAG.ARCH);
  if (arch !== undefined) out.arch = arch;
  const sourceRpm = h.string(RPM_TAG.SOURCERPM);
  if (sourceRpm !== undefined) out.sourceRpm = sourceRpm;
  const vendor = h.string(RPM_TAG.VENDOR);
  if (vendor !== undefined) out.vendor = vendor;
  const license = h.string(RPM_TAG.LICENSE);
  if (license !== undefined) out.license = license;
  const algo = h.ints(RPM_TAG.FILEDIGESTALGO);
  if (algo !== undefined && algo.length > 0) out.digestAlgorithmId = algo[0]!;
  const algorithm = PGP_HASH_ALGOS[out.digestAlgorithmId];
  if (algorithm !== undefined) out.digestAlgorithm = algorithm;
  out.files = readFiles(h, algorithm);
  return out;
}

function readFiles(h: HeaderBlob, algorithm: FileDigest['algorithm'] | undefined): RpmFile[] {
  let paths: string[];
  const basenames = h.strings(RPM_TAG.BASENAMES);
  if (basenames !== undefined) {
    const dirnames = h.strings(RPM_TAG.DIRNAMES) ?? [];
    const dirindexes = h.ints(RPM_TAG.DIRINDEXES) ?? [];
    if (dirindexes.length !== basenames.length) {
      throw new CorruptError(`rpm header: ${basenames.length} BASENAMES but ${dirindexes.length} DIRINDEXES`, { location: `tag ${RPM_TAG.DIRINDEXES}` });
    }
    paths = basenames.map((b, i) => {
      const dir = dirnames[dirindexes[i]!];
      if (dir === undefined) throw new CorruptError(`rpm header: DIRINDEXES[${i}] = ${dirindexes[i]} but there are ${dirnames.length} DIRNAMES`, { location: `tag ${RPM_TAG.DIRINDEXES}` });
      return dir + b;
    });
  } else {
    // Headers from before rpm 4 compressed file names (rpm's "compressFilelist").
    paths = h.strings(RPM_TAG.OLDFILENAMES) ?? [];
  }
  if (paths.length === 0) return [];
  const digests = h.strings(RPM_TAG.FILEDIGESTS);
  const modes = h.ints(RPM_TAG.FILEMODES);
  const flags = h.ints(RPM_TAG.FILEFLAGS);
  for (const [what, arr] of [['FILEDIGESTS', digests], ['FILEMODES', modes], ['FILEFLAGS', flags]] as const) {
    if (arr !== undefined && arr.length !== paths.length) {
      throw new CorruptError(`rpm header: ${paths.length} files but ${arr.length} ${what}`, { location: what });
    }
  }
  const wantLength = algorithm === undefined ? undefined : DIGEST_HEX_LENGTH[algorithm];
  return paths.map((path, i) => {
    const f: RpmFile = { path, digest: (digests?.[i] ?? '').toLowerCase() };
    if (f.digest !== '' && wantLength !== undefined && (f.digest.length !== wantLength || !/^[0-9a-f]+$/.test(f.digest))) {
      throw new CorruptError(`rpm header: digest of ${path} is not ${wantLength} hex digits`, { location: 'FILEDIGESTS' });
    }
    if (modes !== undefined) f.mode = modes[i]!;
    if (flags !== undefined) f.flags = flags[i]!;
    return f;
  });
}

/**
 * Splits a SOURCERPM file name ("openssl-3.3.2-1.azl3.src.rpm") into the source package's name
 * and version-release; undefined when the name does not have that shape.
 */
export function parseSourceRpm(sourceRpm: string): { name: string; version: string } | undefined {
  const m = /^(.+)\.(?:no)?src\.rpm$/.exec(sourceRpm);
  if (m === null) return undefined;
  const base = m[1]!;
  const r = base.lastIndexOf('-');
  if (r <= 0) return undefined;
  const v = base.lastIndexOf('-', r - 1);
  if (v <= 0) return undefined;
  return { name: base.slice(0, v), version: base.slice(v + 1) };
}

/** The version as rpm prints %{EVR}: "[epoch:]version-release". */
export function evr(h: Pick<RpmHeader, 'epoch' | 'version' | 'release'>): string {
  return `${h.epoch === undefined ? '' : `${h.epoch}:`}${h.version}-${h.release}`;
}

