/**
 * Parsers for the OS identification files. os-release follows the freedesktop specification
 * (https://www.freedesktop.org/software/systemd/man/latest/os-release.html): KEY=VALUE lines,
 * values optionally in single or double quotes, backslash escapes of $ " \ ` inside double quotes,
 * `#` comment lines. The same shell-like syntax covers /etc/lsb-release.
 */
import { splitLines } from '../text.ts';

/** Keys longer than this are not os-release variables (the spec's are < 32 characters). */
const MAX_KEY_CHARS = 128;

export interface KeyValueLine {
  value: string;
  /** 1-based line number. */
  line: number;
}

export function parseOsRelease(text: string): Map<string, KeyValueLine> {
  const out = new Map<string, KeyValueLine>();
  const lines = splitLines(text);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0 || eq > MAX_KEY_CHARS) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    out.set(key, { value: unquote(line.slice(eq + 1)), line: i + 1 });
  }
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    const inner = v.slice(1, -1);
    let out = '';
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i]!;
      const next = inner[i + 1];
      if (c === '\\' && next !== undefined && '$"\\`'.includes(next)) {
        out += next;
        i++;
      } else out += c;
    }
    return out;
  }
  return v;
}
