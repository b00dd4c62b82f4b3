/**
 * LZO1X decompression (safe: every input read, output write and back-reference is checked) and
 * btrfs's segmented LZO extent format.
 *
 * References, followed instruction by instruction:
 * - linux v6.6 lib/lzo/lzo1x_decompress_safe.c (the decoder state machine) and
 *   Documentation/staging/lzo.rst (the instruction encoding);
 * - linux v6.6 fs/btrfs/lzo.c (lzo_decompress_bio): a 4-byte little-endian total length, then
 *   segments of a 4-byte little-endian length and an LZO1X stream that decompresses to at most
 *   one sector; a segment header never straddles a sector: fewer than 4 bytes left in the sector
 *   are zero padding.
 */
import { CorruptError } from '../../util/errors.ts';

/** M2_MAX_OFFSET in the LZO1X format. */
const M2_MAX_OFFSET = 0x800;
/** Bytes of one btrfs LZO length header (LZO_LEN). */
const LZO_LEN = 4;

function fail(why: string, location: string): never {
  throw new CorruptError(`LZO1X stream: ${why}`, { location });
}

/**
 * Decompresses one LZO1X stream into `out` starting at `outStart`; returns the bytes written.
 * Never writes past `outEnd`; the stream must end with its end-of-stream marker.
 */
export function lzo1xDecompress(input: Uint8Array, out: Uint8Array, outStart: number, outEnd: number, location: string): number {
  const inEnd = input.length;
  let ip = 0;
  let op = outStart;
  let state = 0;
  let t: number;
  let next: number;
  let mPos: number;
  const byte = (): number => {
    if (ip >= inEnd) fail('input overrun', location);
    return input[ip++]!;
  };
  /** The "0 bytes extend the length by 255" encoding used by long literal runs and matches. */
  const longLength = (base: number): number => {
    let n = 0;
    while (ip < inEnd && input[ip] === 0) {
      n += 255;
      ip++;
      if (n > out.length + 255) fail('length overflow', location);
    }
    return n + base + byte();
  };
  const copyLiterals = (n: number): void => {
    if (ip + n > inEnd) fail('input overrun', location);
    if (op + n > outEnd) fail('output overrun', location);
    out.set(input.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const copyMatch = (from: number, n: number): void => {
    if (from < outStart) fail('lookbehind overrun', location);
    if (op + n > outEnd) fail('output overrun', location);
    // Byte by byte: a match may overlap the bytes it produces (a run).
    for (let i = 0; i < n; i++) out[op + i] = out[from + i]!;
    op += n;
  };

  if (inEnd < 3) fail('input overrun', location);
  // A leading 17 with a version byte marks lzo-rle (bitstream_version); btrfs writes plain LZO1X.
  if (inEnd >= 5 && input[0] === 17) {
    if (input[1] !== 0) fail(`lzo-rle bitstream version ${input[1]} is not LZO1X`, location);
    ip = 2;
  }
  let first = true;
  for (;;) {
    if (first && input[ip]! > 17) {
      first = false;
      t = byte() - 17;
      if (t < 4) {
        next = t;
        copyLiterals(next);
        state = next;
        continue;
      }
      copyLiterals(t);
      state = 4;
      continue;
    }
    first = false;
    t = byte();
    if (t < 16) {
      if (state === 0) {
        // A literal run: 3 + length.
        if (t === 0) t = longLength(15);
        copyLiterals(t + 3);
        state = 4;
        continue;
      }
      if (state !== 4) {
        // A 2-byte match within 1 KiB after a short literal run.
        next = t & 3;
        mPos = op - 1 - (t >> 2) - (byte() << 2);
        copyMatch(mPos, 2);
      } else {
        // A 3-byte match 2..3 KiB back after a long literal run.
        next = t & 3;
        mPos = op - (1 + M2_MAX_OFFSET) - (t >> 2) - (byte() << 2);
        copyMatch(mPos, 3);
      }
    } else if (t >= 64) {
      // M2: 3..8 bytes, distance up to 2 KiB.
      next = t & 3;
      mPos = op - 1 - ((t >> 2) & 7) - (byte() << 3);
      copyMatch(mPos, (t >> 5) + 1);
    } else if (t >= 32) {
      // M3: distance up to 16 KiB.
      let len = (t & 31) + 2;
      if (len === 2) len = longLength(31 + 2);
      const d = byte() | (byte() << 8);
      mPos = op - 1 - (d >> 2);
      next = d & 3;
      copyMatch(mPos, len);
    } else {
      // M4: distance 16..48 KiB, or the end-of-stream marker (distance 16 KiB exactly).
      let len = (t & 7) + 2;
      const far = (t & 8) << 11;
      if (len === 2) len = longLength(7 + 2);
      const d = byte() | (byte() << 8);
      mPos = op - far - (d >> 2);
      next = d & 3;
      if (mPos === op) {
        if (len !== 3) fail('malformed end-of-stream marker', location);
        return op - outStart;
      }
      copyMatch(mPos - 0x4000, len);
    }
    // Up to 3 literals follow a match (the low two bits of its last byte).
    copyLiterals(next);
    state = next;
  }
}

/**
 * Decompresses a btrfs LZO extent (regular or inline) of `ramBytes` uncompressed bytes.
 * Bytes past `ramBytes` in the last segment are an error, like the kernel's.
 */
export function btrfsLzoDecompress(input: Uint8Array, ramBytes: number, sectorBytes: number, location: string): Uint8Array {
  if (input.length < LZO_LEN) throw new CorruptError('btrfs LZO extent truncated', { location });
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const total = dv.getUint32(0, true);
  if (total > input.length || total < LZO_LEN) throw new CorruptError(`btrfs LZO extent length ${total} does not fit its ${input.length} bytes`, { location });
  const out = new Uint8Array(ramBytes);
  let cur = LZO_LEN;
  let op = 0;
  // Each segment yields at least one byte, so the loop runs at most ramBytes times.
  while (cur < total && op < ramBytes) {
    const left = sectorBytes - (cur % sectorBytes);
    if (left < LZO_LEN) {
      cur += left;
      continue;
    }
    if (cur + LZO_LEN > total) throw new CorruptError('btrfs LZO segment header truncated', { location });
    const segLen = dv.getUint32(cur, true);
    cur += LZO_LEN;
    if (segLen === 0 || cur + segLen > total) throw new CorruptError(`btrfs LZO segment of ${segLen} bytes overruns the extent`, { location });
    const written = lzo1xDecompress(input.subarray(cur, cur + segLen), out, op, Math.min(ramBytes, op + sectorBytes), location);
    if (written === 0) throw new CorruptError('btrfs LZO segment decompressed to nothing', { location });
    op += written;
    cur += segLen;
  }
  if (op < ramBytes) out.fill(0, op);
  return out;
}
