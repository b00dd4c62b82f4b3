/**
 * Boot Loader Specification entries (/boot/loader/entries/*.conf), as GRUB's blscfg (Fedora,
 * RHEL, Azure Linux with BLS) and systemd-boot read them. Sorting follows the UAPI Boot Loader
 * Specification, "Sorting" (https://uapi-group.org/specifications/specs/boot_loader_specification/):
 * entries with sort-key first, by sort-key, then machine-id, then version descending; the rest by
 * file name, descending in version order. Versions compare as rpmvercmp does (what both grub's
 * blscfg and systemd's strverscmp_improved approximate).
 */
import { schemeFor } from '../../version/index.ts';
import { splitLines } from '../text.ts';

export const BLS_ENTRIES_DIR = '/boot/loader/entries';
export const LOADER_CONF_PATH = '/boot/loader/loader.conf';
/** An entry is a few lines; larger files are not entries. */
export const MAX_BLS_ENTRY_BYTES = 64 * 1024;
/** Entries read from one directory. */
export const MAX_BLS_ENTRIES = 1_000;
/** loader.conf `default` patterns and entry names longer than this never match. */
export const MAX_GLOB_CHARS = 256;

export interface BlsEntry {
  /** File name without ".conf" (what grubenv saved_entry names). */
  id: string;
  path: string;
  title?: string;
  version?: string;
  linux?: string;
  sortKey?: string;
  machineId?: string;
}

export function parseBlsEntry(path: string, text: string): BlsEntry {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const e: BlsEntry = { id: name.endsWith('.conf') ? name.slice(0, -'.conf'.length) : name, path };
  for (const line of splitLines(text)) {
    const kv = keyValue(line);
    if (!kv) continue;
    const { key, value } = kv;
    if (key === 'title' && e.title === undefined) e.title = value;
    else if (key === 'version' && e.version === undefined) e.version = value;
    else if (key === 'linux' && e.linux === undefined) e.linux = value;
    else if (key === 'sort-key' && e.sortKey === undefined) e.sortKey = value;
    else if (key === 'machine-id' && e.machineId === undefined) e.machineId = value;
  }
  return e;
}

/** A BLS / loader.conf line: a key, whitespace, the value (to the end, trimmed); `#` comments. */
export function keyValue(line: string): { key: string; value: string } | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const ws = t.search(/\s/);
  if (ws <= 0) return undefined;
  return { key: t.slice(0, ws), value: t.slice(ws).trim() };
}

const rpm = schemeFor('rpm');

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts entries in boot-menu order (first = the default when nothing else says). */
export function sortBlsEntries(entries: readonly BlsEntry[]): BlsEntry[] {
  return [...entries].sort((a, b) => {
    if ((a.sortKey === undefined) !== (b.sortKey === undefined)) return a.sortKey !== undefined ? -1 : 1;
    if (a.sortKey !== undefined && b.sortKey !== undefined) {
      const c = cmpStr(a.sortKey, b.sortKey) || cmpStr(a.machineId ?? '', b.machineId ?? '') || rpm.compare(b.version ?? '', a.version ?? '');
      if (c !== 0) return c;
    }
    return rpm.compare(b.id, a.id) || cmpStr(b.id, a.id);
  });
}

/** systemd-boot's `default` glob in loader.conf (fnmatch with * and ?). */
export function globMatch(glob: string, name: string): boolean {
  // Bounded so that the backtracking of ".*" runs stays small on hostile globs.
  if (glob.length > MAX_GLOB_CHARS || name.length > MAX_GLOB_CHARS) return false;
  let re = '^';
  for (const c of glob) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(re + '$').test(name);
}
