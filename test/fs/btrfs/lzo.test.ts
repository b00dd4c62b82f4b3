/**
 * The LZO1X decoder on hand-assembled streams (instruction encodings from
 * Documentation/staging/lzo.rst), the btrfs segment framing, and hostile streams: truncated,
 * back-references before the start, output past the limit, and seeded mutations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { btrfsLzoDecompress, lzo1xDecompress } from '../../../src/fs/btrfs/lzo.ts';
import { CorruptError } from '../../../src/util/errors.ts';
import { fuzz } from '../../helpers/fuzz.ts';

const END = [0x11, 0x00, 0x00];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function decode(stream: number[], capacity = 4096): string {
  const out = new Uint8Array(capacity);
  const n = lzo1xDecompress(new Uint8Array(stream), out, 0, capacity, 'test');
  return text(out.subarray(0, n));
}

/** A btrfs LZO extent: total length, then one segment per stream, headers kept inside a sector. */
function btrfsFrame(streams: number[][], sector = 4096): Uint8Array {
  const out: number[] = [0, 0, 0, 0];
  const le32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
  for (const s of streams) {
    const left = sector - (out.length % sector);
    if (left < 4) out.push(...new Array<number>(left).fill(0));
    out.push(...le32(s.length), ...s);
  }
  out.splice(0, 4, ...le32(out.length));
  return new Uint8Array(out);
}

test('a first literal run (17 + n) followed by the end-of-stream marker', () => {
  assert.equal(decode([17 + 5, ...ascii('hello'), ...END]), 'hello');
});

test('a long literal run: 0, then 255-steps, then 15 + n + 3 literals', () => {
  const lits = 'x'.repeat(15 + 5 + 3);
  assert.equal(decode([0x00, 0x05, ...ascii(lits), ...END]), lits);
  const longer = 'y'.repeat(255 + 15 + 7 + 3);
  assert.equal(decode([0x00, 0x00, 0x07, ...ascii(longer), ...END]), longer);
});

test('an M3 match (32 | len-2, 14-bit distance) copies an overlapping run', () => {
  // "abc", then 9 bytes from 3 back: len 9 = (t & 31) + 2, distance 3 = (d >> 2) + 1.
  assert.equal(decode([17 + 3, ...ascii('abc'), 32 | 7, 2 << 2, 0x00, ...END]), 'abcabcabcabc');
});

test('an M2 match (len 3..8 in the top bits) and trailing literals in its low bits', () => {
  // "abcd", M2 of 4 bytes 4 back: t = ((4 - 1) << 5) | ((d & 7) << 2) | next, d = 3, next = 2 literals.
  assert.equal(decode([17 + 4, ...ascii('abcd'), (3 << 5) | (3 << 2) | 2, 0x00, ...ascii('XY'), ...END]), 'abcdabcdXY');
});

test('after 1..3 literals, a short instruction is a 2-byte match within 1 KiB', () => {
  // "abc" (state 3), then t = D << 2 with D = 1 and H = 0: distance 1 + 1 + (0 << 2) = 2, length 2.
  assert.equal(decode([17 + 3, ...ascii('abc'), 1 << 2, 0x00, ...END]), 'abcbc');
});

test('after a long literal run, a short instruction is a 3-byte match 2049.. bytes back', () => {
  // 15 + 255 * 8 + 42 + 3 = 2100 literals (state 4), then t = 0, H = 0: distance 2049, length 3.
  const lits = [...Array(2100)].map((_, i) => 'abcdefghijklmnopqrstuvwxyz'[i % 26]!).join('');
  const out = decode([0x00, ...new Array<number>(8).fill(0), 42, ...ascii(lits), 0x00, 0x00, ...END], 4096);
  assert.equal(out, lits + lits.slice(2100 - 2049, 2100 - 2049 + 3));
  // H = 1, D = 1: distance 2049 + 1 + 4 = 2054.
  const out2 = decode([0x00, ...new Array<number>(8).fill(0), 42, ...ascii(lits), 1 << 2, 0x01, ...END], 4096);
  assert.equal(out2, lits + lits.slice(2100 - 2054, 2100 - 2054 + 3));
});

test('btrfs framing: segments per sector, a header never straddles a sector boundary', () => {
  const a = [17 + 5, ...ascii('first'), ...END];
  const b = [17 + 6, ...ascii('second'), ...END];
  assert.equal(text(btrfsLzoDecompress(btrfsFrame([a, b]), 11, 4096, 'test')), 'firstsecond');
  // A first segment ending 2 bytes before the sector end: the next header starts after the padding.
  // Literal run of 15 + 255 * 15 + 223 + 3 = 4066 bytes: a stream of 1 + 15 + 1 + 4066 + 3 = 4086 bytes.
  const filler = 'z'.repeat(4066);
  const stream = [0x00, ...new Array<number>(15).fill(0), 223, ...ascii(filler), ...END];
  assert.equal(4 + 4 + stream.length, 4096 - 2);
  const framed = btrfsFrame([stream, b]);
  assert.equal(framed.length, 4096 + 4 + b.length, 'the second header moved to the next sector');
  assert.equal(text(btrfsLzoDecompress(framed, 4066 + 6, 4096, 'test')), filler + 'second');
});

test('hostile streams are CorruptError: truncation, lookbehind, overrun, bad marker, lzo-rle', () => {
  const bad: Array<[string, number[], number]> = [
    ['no end marker', [17 + 3, ...ascii('abc')], 64],
    ['match before the start', [17 + 1, ...ascii('a'), 32 | 7, 40 << 2, 0x00, ...END], 64],
    ['output past the limit', [17 + 5, ...ascii('hello'), ...END], 3],
    ['truncated literal run', [0x00, 0x05, ...ascii('short')], 64],
    ['lzo-rle version byte', [17, 1, 0, 0, 0, ...END], 64],
  ];
  for (const [name, stream, cap] of bad) {
    assert.throws(() => lzo1xDecompress(new Uint8Array(stream), new Uint8Array(cap), 0, cap, name), CorruptError, name);
  }
  assert.throws(() => btrfsLzoDecompress(new Uint8Array([0xff, 0xff, 0, 0, 1, 0, 0, 0]), 10, 4096, 'len'), CorruptError);
  assert.throws(() => btrfsLzoDecompress(new Uint8Array([8, 0, 0, 0, 0xff, 0, 0, 0]), 10, 4096, 'seg'), CorruptError);
});

test('seeded mutations of a framed LZO extent: only typed errors', async () => {
  const base = btrfsFrame([[17 + 3, ...ascii('abc'), 32 | 7, 2 << 2, 0x00, 0x00, 0x05, ...ascii('x'.repeat(23)), ...END]]);
  const outcome = await fuzz(base, async (b) => btrfsLzoDecompress(b, 4096, 4096, 'fuzz'), { regions: [[0, base.length]], cases: 2000, seed: 0x1207, maxMutations: 3, allowTruncate: true });
  assert.equal(outcome.cases, 2000);
  assert.ok(outcome.rejected > 100, JSON.stringify(outcome));
});
