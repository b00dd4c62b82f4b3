/**
 * A seeded, reproducible mutation fuzzer for parsers of hostile disk structures. Each case
 * mutates a valid image (bit flips, byte sets to boundary values, 32/64-bit words set to
 * absurd values, truncation) and runs the parser; the case passes when the parser returns or
 * throws a HullscanError within the time budget. Any other throw, or a hang, fails the case and
 * prints the seed that reproduces it.
 */
import assert from 'node:assert/strict';
import { HullscanError } from '../../src/util/errors.ts';

/** Small fast PRNG (mulberry32) so a failing case is reproduced from its seed alone. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const BOUNDARY_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 4096, 512];

export interface MutationOptions {
  /** Byte ranges worth mutating (metadata); mutations land inside them. */
  regions: Array<[start: number, end: number]>;
  /** Mutations per case (1..max). */
  maxMutations?: number;
  /** Whether a case may also truncate the image. */
  allowTruncate?: boolean;
}

export function mutate(base: Uint8Array, seed: number, options: MutationOptions): Uint8Array {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let out = base.slice();
  const n = 1 + Math.floor(rnd() * (options.maxMutations ?? 4));
  for (let m = 0; m < n; m++) {
    const [s, e] = pick(options.regions);
    const at = s + Math.floor(rnd() * Math.max(1, e - s));
    if (at >= out.length) continue;
    const kind = rnd();
    if (kind < 0.35) out[at] = out[at]! ^ (1 << Math.floor(rnd() * 8));
    else if (kind < 0.6) out[at] = pick(BOUNDARY_BYTES);
    else if (kind < 0.85 && at + 4 <= out.length) {
      new DataView(out.buffer, out.byteOffset).setUint32(at, pick(BOUNDARY_U32), rnd() < 0.5);
    } else if (at + 8 <= out.length) {
      new DataView(out.buffer, out.byteOffset).setBigUint64(at, rnd() < 0.5 ? 0xffffffffffffffffn : BigInt(Math.floor(rnd() * 2 ** 40)), rnd() < 0.5);
    }
  }
  if (options.allowTruncate && rnd() < 0.05) out = out.subarray(0, Math.floor(rnd() * out.length));
  return out;
}

/** A fuzz process above this resident size has let an image drive its allocations. */
export const DEFAULT_MAX_RSS_BYTES = 1536 * 1024 * 1024;

export interface FuzzOutcome {
  cases: number;
  accepted: number;
  rejected: number;
  /** Error class names seen, with counts (for the test log). */
  errors: Record<string, number>;
}

/**
 * Runs `cases` seeded mutations of `base` through `parse`. Throws with the seed on the first
 * case that throws a non-Hullscan error or exceeds `caseTimeoutMs`.
 */
export async function fuzz(
  base: Uint8Array,
  parse: (bytes: Uint8Array) => Promise<unknown>,
  options: MutationOptions & { cases: number; seed?: number; caseTimeoutMs?: number; maxRssBytes?: number },
): Promise<FuzzOutcome> {
  const outcome: FuzzOutcome = { cases: 0, accepted: 0, rejected: 0, errors: {} };
  // FUZZ_SEED shifts every fuzz test's seeds so long runs (npm run fuzz) explore new cases.
  const seed0 = (options.seed ?? 1) + (Number(process.env['FUZZ_SEED']) || 0);
  const timeout = options.caseTimeoutMs ?? 2000;
  const maxRss = options.maxRssBytes ?? DEFAULT_MAX_RSS_BYTES;
  for (let i = 0; i < options.cases; i++) {
    const seed = seed0 + i;
    const input = mutate(base, seed, options);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`fuzz case seed=${seed} exceeded ${timeout} ms`)), timeout);
    });
    try {
      await Promise.race([parse(input), hang]);
      outcome.accepted++;
    } catch (err) {
      if (!(err instanceof HullscanError)) {
        const e = err as Error;
        throw new Error(`fuzz case seed=${seed} threw ${e?.name}: ${e?.message}\n${e?.stack}`, { cause: err });
      }
      outcome.rejected++;
      outcome.errors[err.name] = (outcome.errors[err.name] ?? 0) + 1;
    } finally {
      clearTimeout(timer);
    }
    // A parser that allocates from an absurd on-disk count shows up as resident memory growth.
    const rss = process.memoryUsage.rss();
    if (rss > maxRss) throw new Error(`fuzz case seed=${seed} left the process at ${rss} bytes resident (limit ${maxRss})`);
    outcome.cases++;
  }
  return outcome;
}

/** How many fuzz cases a test runs: FUZZ_CASES overrides (npm run fuzz sets it high). */
export function fuzzCases(defaultCases: number): number {
  const v = Number(process.env['FUZZ_CASES']);
  return Number.isFinite(v) && v > 0 ? v : defaultCases;
}

/**
 * Awaits one hand-built hostile case and fails it when it took longer than `budgetMs`: a
 * corrupt structure must end in a result or a typed error quickly, never a near-hang.
 */
export async function withinBudget<T>(p: Promise<T>, budgetMs: number): Promise<T> {
  const t0 = performance.now();
  try {
    return await p;
  } finally {
    assert.ok(performance.now() - t0 < budgetMs, `hostile case exceeded its time budget (${budgetMs} ms)`);
  }
}
