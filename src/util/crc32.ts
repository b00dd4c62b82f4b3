/**
 * CRC-32 (IEEE 802.3, as GPT uses) and CRC-32C (Castagnoli, as ext4 metadata_csum, XFS v5,
 * btrfs and VHDX use). Table-driven, slicing-by-1; inputs are metadata-sized.
 */
function makeTable(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}

const IEEE = makeTable(0xedb88320);
const CASTAGNOLI = makeTable(0x82f63b78);

function update(table: Uint32Array, crc: number, buf: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < buf.length; i++) c = table[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
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
