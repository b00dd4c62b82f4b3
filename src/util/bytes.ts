import { CorruptError } from './errors.ts';

/** Little/big-endian readers over a Uint8Array that never read past the end. */
export function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Reads a 64-bit unsigned integer as a JS number, refusing values that a number cannot hold
 * exactly (a hostile image must not turn 2^64-1 into a plausible offset).
 */
export function u64le(dv: DataView, offset: number, what = 'u64'): number {
  const v = dv.getBigUint64(offset, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`${what} out of range: ${v}`);
  return Number(v);
}

export function u64be(dv: DataView, offset: number, what = 'u64'): number {
  const v = dv.getBigUint64(offset, false);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`${what} out of range: ${v}`);
  return Number(v);
}

export function ascii(buf: Uint8Array, start = 0, end = buf.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** ASCII up to the first NUL. */
export function cstring(buf: Uint8Array, start = 0, end = buf.length): string {
  let e = start;
  while (e < end && buf[e] !== 0) e++;
  return new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(start, e));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isAllZero(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Formats a 16-byte mixed-endian GUID (as GPT and VHDX store them). */
export function guidLE(buf: Uint8Array, off = 0): string {
  const h = (i: number) => buf[off + i]!.toString(16).padStart(2, '0');
  return (
    h(3) + h(2) + h(1) + h(0) + '-' + h(5) + h(4) + '-' + h(7) + h(6) + '-' + h(8) + h(9) + '-' +
    h(10) + h(11) + h(12) + h(13) + h(14) + h(15)
  ).toUpperCase();
}

/** Formats 16 bytes as a big-endian UUID (as ext4, XFS and btrfs store them). */
export function uuidBE(buf: Uint8Array, off = 0): string {
  const hex = [...buf.subarray(off, off + 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
