/**
 * Option values with units, shared by the commands: sizes ("25M", "1G", "512K", "4096") and
 * durations ("60s", "5m", "72h", "2d", "1w"). Units are binary for sizes (K = KiB), as ClamAV's
 * own size options are.
 */
import { UsageError } from '../util/errors.ts';
import { GiB, KiB, MiB, TiB } from '../util/units.ts';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: KiB, kb: KiB, kib: KiB, m: MiB, mb: MiB, mib: MiB, g: GiB, gb: GiB, gib: GiB, t: TiB, tb: TiB, tib: TiB };
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "25M" → 26214400 bytes; `option` names the flag in the error. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d{1,15})\s*([a-z]*)$/i.exec(text.trim());
  const unit = m?.[2]?.toLowerCase();
  if (!m || unit === undefined || SIZE_UNITS[unit] === undefined) throw new UsageError(`${option} expects a size such as 4096, 512K, 25M or 1G; got "${text.slice(0, 40)}"`);
  const bytes = Number(m[1]) * SIZE_UNITS[unit];
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${option}: ${text.slice(0, 40)} is too large`);
  return bytes;
}

/** "72h" → milliseconds; `option` names the flag in the error. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d{1,9})(ms|[smhdw])$/.exec(text.trim());
  if (!m) throw new UsageError(`${option} expects a number and a unit (ms, s, m, h, d, w), e.g. 72h; got "${text.slice(0, 40)}"`);
  return Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
}
