/**
 * CRC-32 (IEEE 802.3, as GPT uses) and CRC-32C (Castagnoli, as ext4 metadata_csum, XFS v5,
 * btrfs and VHDX use). Table-driven slicing-by-8 (Intel's "Slicing-by-8" technique, as zlib's
 * and the Linux kernel's lib/crc32.c software paths do): eight table lookups per 8 input bytes
 * instead of one per byte. A cold walk checksums every inode, directory block and tree node, so
 * this is on the metadata path of every filesystem.
 */
function makeTables(poly: number): Uint32Array {
  // Table k (k = 0..7) at [k*256, k*256+256): the CRC of byte i followed by k zero bytes.
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + i] = c >>> 0;
    }
  }
  return t;
}

const IEEE = makeTables(0xedb88320);
const CASTAGNOLI = makeTables(0x82f63b78);

function update(t: Uint32Array, crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = crc | 0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  for (; i < end8; i += 8) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      t[0x700 + (lo & 0xff)]! ^
      t[0x600 + ((lo >>> 8) & 0xff)]! ^
      t[0x500 + ((lo >>> 16) & 0xff)]! ^
      t[0x400 + (lo >>> 24)]! ^
      t[0x300 + buf[i + 4]!]! ^
      t[0x200 + buf[i + 5]!]! ^
      t[0x100 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

export function crc32(buf: Uint8Array, seed = 0): number {
  return (update(IEEE, (seed ^ 0xffffffff) >>> 0, buf) ^ 0xffffffff) >>> 0;
}

/** CRC-32C with the conventional pre/post inversion. */
export function crc32c(buf: Uint8Array, seed = 0): number {
  return (update(CASTAGNOLI, (seed ^ 0xffffffff) >>> 0, buf) ^ 0xffffffff) >>> 0;
}

/**
 * The raw CRC-32C register update without inversions, as the Linux kernel's `crc32c()` is
 * called by ext4 (`ext4_chksum`) and btrfs: callers pass the seed and invert themselves.
 */
export function crc32cRaw(crc: number, buf: Uint8Array): number {
  return update(CASTAGNOLI, crc >>> 0, buf);
}

/** crc32cRaw over buf[start, end) without a subarray (hot metadata paths checksum pieces of one buffer). */
export function crc32cRawRange(crc: number, buf: Uint8Array, start: number, end: number): number {
  if (start < 0 || end > buf.length || start > end) throw new RangeError(`crc32cRawRange: [${start}, ${end}) outside a ${buf.length}-byte buffer`);
  return update(CASTAGNOLI, crc >>> 0, buf, start, end);
}
