/**
 * Directory-index name hashes: legacy (dx_hack_hash), half-MD4 and TEA, each with a signed and an
 * unsigned variant (the signedness of `char` on the machine that built the index, recorded in
 * the superblock's s_flags).
 *
 * Spec: Linux Documentation/filesystems/ext4/directory.rst ("Hash Tree Directories",
 * dx_root_info.hash_version) and the algorithms of fs/ext4/hash.c (ext4fs_dirhash,
 * str2hashbuf_signed/unsigned, half_md4_transform, TEA_transform, dx_hack_hash_*).
 */
export const DX_HASH = {
  legacy: 0,
  halfMd4: 1,
  tea: 2,
  legacyUnsigned: 3,
  halfMd4Unsigned: 4,
  teaUnsigned: 5,
  siphash: 6,
} as const;

/** EXT4_HTREE_EOF_32BIT: the one hash value a name may not get. */
const HTREE_EOF_32 = 0x7fffffff;

/** The byte as the hashing machine's `char` saw it. */
function charAt(name: Uint8Array, i: number, unsigned: boolean): number {
  const b = name[i]!;
  return unsigned || b < 0x80 ? b : b - 256;
}

function legacyHash(name: Uint8Array, unsigned: boolean): number {
  let h0 = 0x12a3fe2d;
  let h1 = 0x37abe8f9;
  for (let i = 0; i < name.length; i++) {
    let h = (h1 + (h0 ^ Math.imul(charAt(name, i, unsigned), 7152373))) >>> 0;
    if (h & 0x80000000) h = (h - 0x7fffffff) >>> 0;
    h1 = h0;
    h0 = h;
  }
  return (h0 << 1) >>> 0;
}

/** Packs up to 4 * num bytes of `name` from `start` into u32 words, padded with the length. */
function str2hashbuf(name: Uint8Array, start: number, len: number, out: Uint32Array, num: number, unsigned: boolean): void {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  const n = Math.min(len, num * 4);
  let w = 0;
  for (let i = 0; i < n; i++) {
    val = (charAt(name, start + i, unsigned) + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out[w++] = val;
      val = pad;
    }
  }
  if (w < num) out[w++] = val;
  while (w < num) out[w++] = pad;
}

function rol(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

const K2 = 0x5a827999;
const K3 = 0x6ed9eba1;

function halfMd4Transform(buf: Uint32Array, x: Uint32Array): void {
  let a = buf[0]!;
  let b = buf[1]!;
  let c = buf[2]!;
  let d = buf[3]!;
  const F = (p: number, q: number, r: number) => r ^ (p & (q ^ r));
  const G = (p: number, q: number, r: number) => ((p & q) + ((p ^ q) & r)) >>> 0;
  const H = (p: number, q: number, r: number) => p ^ q ^ r;
  type Fn = (p: number, q: number, r: number) => number;
  // Each step: a = rol(a + f(b, c, d) + x[k] + K, s), with the roles rotating a→d→c→b.
  const rounds: Array<[Fn, number, Array<[number, number]>]> = [
    [F, 0, [[0, 3], [1, 7], [2, 11], [3, 19], [4, 3], [5, 7], [6, 11], [7, 19]]],
    [G, K2, [[1, 3], [3, 5], [5, 9], [7, 13], [0, 3], [2, 5], [4, 9], [6, 13]]],
    [H, K3, [[3, 3], [7, 9], [2, 11], [6, 15], [1, 3], [5, 9], [0, 11], [4, 15]]],
  ];
  for (const [f, k, steps] of rounds) {
    for (let i = 0; i < steps.length; i++) {
      const [xi, s] = steps[i]!;
      const v = x[xi]! + k;
      switch (i % 4) {
        case 0: a = rol((a + f(b, c, d) + v) >>> 0, s); break;
        case 1: d = rol((d + f(a, b, c) + v) >>> 0, s); break;
        case 2: c = rol((c + f(d, a, b) + v) >>> 0, s); break;
        default: b = rol((b + f(c, d, a) + v) >>> 0, s); break;
      }
    }
  }
  buf[0] = (buf[0]! + a) >>> 0;
  buf[1] = (buf[1]! + b) >>> 0;
  buf[2] = (buf[2]! + c) >>> 0;
  buf[3] = (buf[3]! + d) >>> 0;
}

function teaTransform(buf: Uint32Array, x: Uint32Array): void {
  let sum = 0;
  let b0 = buf[0]!;
  let b1 = buf[1]!;
  const [a, b, c, d] = [x[0]!, x[1]!, x[2]!, x[3]!];
  for (let n = 0; n < 16; n++) {
    sum = (sum + 0x9e3779b9) >>> 0;
    b0 = (b0 + ((((b1 << 4) >>> 0) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b))) >>> 0;
    b1 = (b1 + ((((b0 << 4) >>> 0) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d))) >>> 0;
  }
  buf[0] = (buf[0]! + b0) >>> 0;
  buf[1] = (buf[1]! + b1) >>> 0;
}

/**
 * The major hash of a name (low bit clear), or undefined for a hash version we do not implement
 * (siphash of casefolded encrypted directories; unknown values).
 */
export function dxHash(name: Uint8Array, version: number, seed: Uint32Array): number | undefined {
  const buf = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  if (seed.some((v) => v !== 0)) buf.set(seed.subarray(0, 4));
  let hash: number;
  switch (version) {
    case DX_HASH.legacy:
    case DX_HASH.legacyUnsigned:
      hash = legacyHash(name, version === DX_HASH.legacyUnsigned);
      break;
    case DX_HASH.halfMd4:
    case DX_HASH.halfMd4Unsigned: {
      const unsigned = version === DX_HASH.halfMd4Unsigned;
      const x = new Uint32Array(8);
      for (let p = 0; p < name.length; p += 32) {
        str2hashbuf(name, p, name.length - p, x, 8, unsigned);
        halfMd4Transform(buf, x);
      }
      hash = buf[1]!;
      break;
    }
    case DX_HASH.tea:
    case DX_HASH.teaUnsigned: {
      const unsigned = version === DX_HASH.teaUnsigned;
      const x = new Uint32Array(4);
      for (let p = 0; p < name.length; p += 16) {
        str2hashbuf(name, p, name.length - p, x, 4, unsigned);
        teaTransform(buf, x);
      }
      hash = buf[0]!;
      break;
    }
    default:
      return undefined;
  }
  hash = (hash & ~1) >>> 0;
  if (hash === HTREE_EOF_32 * 2) hash = (HTREE_EOF_32 - 1) * 2;
  return hash;
}
