/**
 * The parts of GRUB 2 that decide the default boot entry (grub 2.12: grub-core/normal/menu.c
 * grub_menu_get_default_entry_index and get_entry_number, grub-core/script/ for the syntax,
 * grub-core/lib/envblk.c for grubenv). We do not run the script: we read the menu tree
 * (menuentry / submenu blocks), top-level `set` assignments, `load_env` and `blscfg`, which is
 * what grub-mkconfig and the distro generators write.
 */
import { splitLines } from '../text.ts';

/** grub.cfg of real systems are < 100 KiB; the limit applies to the file read. */
export const MAX_GRUB_CFG_BYTES = 4 * 1024 * 1024;
/** grubenv is exactly 1024 bytes; tolerate larger hand-made ones. */
export const MAX_GRUBENV_BYTES = 64 * 1024;
/** Menu entries (across all submenus) kept from one grub.cfg. */
export const MAX_MENU_ENTRIES = 10_000;
/** Block nesting (if/function/menuentry/submenu) the reader follows. */
export const MAX_BLOCK_DEPTH = 64;
/** Components in a "A>B>C" default path. */
export const MAX_DEFAULT_PATH_PARTS = 16;

export interface MenuEntry {
  kind: 'menuentry' | 'submenu' | 'bls';
  title: string;
  id?: string;
  /** 1-based line in grub.cfg (0 for BLS entries). */
  line: number;
  /** The `linux` command's image argument, with variables unexpanded. */
  linux?: string;
  /** BLS entries: the `version` key. */
  version?: string;
  children: MenuEntry[];
}

export interface GrubConfig {
  /** Top-level menu, with BLS entries placed where `blscfg` runs once the caller inserts them. */
  menu: MenuEntry[];
  /** Index in `menu` where `blscfg` appeared (-1 when it does not). */
  blscfgAt: number;
  /** Every `set default=…` value outside menu entries, in file order, with its line. */
  defaults: { value: string; line: number }[];
  /** Top-level `set name=value` assignments (last wins). */
  vars: Map<string, string>;
  /** Files named by `load_env -f FILE` (unexpanded). */
  loadEnvFiles: string[];
  problems: { line: number; message: string }[];
}

/** Splits a grub script line into words: quotes, backslash escapes, `#` comments. */
export function grubWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '$"\\'.includes(line[j + 1]!)) j++;
        cur += line[j];
      }
      i = j;
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === ';') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      if (c === ';') words.push(';');
    } else if (c === '#' && !inWord) {
      break;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Options of menuentry/submenu that take an argument (grub-core/commands/menuentry.c). */
const ARG_OPTIONS = new Set(['--class', '--users', '--hotkey', '--id', '--source']);

function entryHeader(words: string[]): { title: string; id?: string } {
  let title: string | undefined;
  let id: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '{') break;
    // grub-mkconfig writes `$menuentry_id_option 'gnulinux-…'`, which expands to "--id".
    const opt = w === '$menuentry_id_option' || w === '${menuentry_id_option}' ? '--id' : w;
    if (ARG_OPTIONS.has(opt)) {
      if (opt === '--id') id = words[i + 1];
      i++;
    } else if (opt.startsWith('--')) {
      continue;
    } else if (title === undefined) title = w;
  }
  return id === undefined ? { title: title ?? '' } : { title: title ?? '', id };
}

export function parseGrubCfg(text: string): GrubConfig {
  const cfg: GrubConfig = { menu: [], blscfgAt: -1, defaults: [], vars: new Map(), loadEnvFiles: [], problems: [] };
  // Each open block: a menu entry (collecting children / linux) or an opaque one (function, if, for…).
  const stack: Array<{ entry?: MenuEntry; kind: 'entry' | 'brace' | 'if' | 'loop' }> = [];
  let count = 0;
  const currentEntry = () => {
    for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.entry) return stack[i]!.entry;
    return undefined;
  };
  const inEntry = () => stack.some((s) => s.kind === 'entry' && s.entry?.kind === 'menuentry');
  const lines = splitLines(text);
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const all = grubWords(raw);
    // A line may hold several commands separated by ';' ("if [ … ]; then").
    const commands: string[][] = [[]];
    for (const w of all) {
      if (w === ';') commands.push([]);
      else commands[commands.length - 1]!.push(w);
    }
    for (const words of commands) {
      const w0 = words[0];
      if (w0 === undefined) continue;
      if (w0 === 'menuentry' || w0 === 'submenu') {
        if (stack.length >= MAX_BLOCK_DEPTH) {
          cfg.problems.push({ line: lineNo, message: `blocks nested deeper than ${MAX_BLOCK_DEPTH}` });
          return cfg;
        }
        if (++count > MAX_MENU_ENTRIES) {
          cfg.problems.push({ line: lineNo, message: `more than ${MAX_MENU_ENTRIES} menu entries` });
          return cfg;
        }
        const e: MenuEntry = { kind: w0, ...entryHeader(words), line: lineNo, children: [] };
        const parent = currentEntry();
        if (parent && parent.kind === 'submenu') parent.children.push(e);
        else if (!parent) cfg.menu.push(e);
        stack.push({ entry: e, kind: 'entry' });
        continue;
      }
      if (w0 === 'function' || (w0 !== '}' && words[words.length - 1] === '{')) {
        if (stack.length >= MAX_BLOCK_DEPTH) return cfg;
        stack.push({ kind: 'brace' });
        continue;
      }
      if (w0 === '}') {
        const top = stack.pop();
        if (!top || (top.kind !== 'entry' && top.kind !== 'brace')) cfg.problems.push({ line: lineNo, message: "unbalanced '}'" });
        continue;
      }
      if (w0 === 'if') {
        stack.push({ kind: 'if' });
        continue;
      }
      if (w0 === 'fi') {
        if (stack[stack.length - 1]?.kind === 'if') stack.pop();
        continue;
      }
      if (w0 === 'for' || w0 === 'while' || w0 === 'until') {
        stack.push({ kind: 'loop' });
        continue;
      }
      if (w0 === 'done') {
        if (stack[stack.length - 1]?.kind === 'loop') stack.pop();
        continue;
      }
      const entry = currentEntry();
      if (entry && inEntry()) {
        if ((w0 === 'linux' || w0 === 'linuxefi' || w0 === 'linux16') && entry.linux === undefined && words[1] !== undefined) entry.linux = words[1];
        continue;
      }
      if (w0 === 'set' && words[1] !== undefined) {
        const eq = words[1].indexOf('=');
        if (eq > 0) {
          const name = words[1].slice(0, eq);
          const value = words[1].slice(eq + 1);
          if (name === 'default') cfg.defaults.push({ value, line: lineNo });
          else cfg.vars.set(name, value);
        }
      } else if (w0 === 'load_env') {
        const f = words.indexOf('-f');
        const file = f >= 0 ? words[f + 1] : words.find((w, k) => k > 0 && w.startsWith('--file='))?.slice('--file='.length);
        if (file !== undefined) cfg.loadEnvFiles.push(file);
      } else if (w0 === 'blscfg' && cfg.blscfgAt < 0 && !entry) {
        cfg.blscfgAt = cfg.menu.length;
      }
    }
  }
  if (stack.some((s) => s.kind === 'entry')) cfg.problems.push({ line: lines.length, message: 'file ends inside a menu entry' });
  return cfg;
}

/**
 * Parses a grubenv block ("# GRUB Environment Block" then name=value lines, padded with '#')
 * or a plain name=value file such as Azure Linux's /boot/mariner.cfg.
 */
export function parseGrubEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of splitLines(text)) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    // envblk.c escapes '\\' and newline with a backslash.
    env.set(line.slice(0, eq).trim(), line.slice(eq + 1).replace(/\\(.)/g, '$1'));
  }
  return env;
}

/** Expands $name and ${name} from `vars`; unknown variables expand to "" as in grub. */
export function expandVars(s: string, vars: ReadonlyMap<string, string>): string {
  return s.replace(/\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)/g, (_m, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? '');
}

/**
 * Finds the entry a default names: a number (index), an entry id or a title, and for
 * submenus a ">"-separated path of those (grub's get_entry_number applied per level).
 */
export function resolveMenuPath(menu: readonly MenuEntry[], spec: string): MenuEntry | undefined {
  const parts = spec.split('>').slice(0, MAX_DEFAULT_PATH_PARTS);
  let level: readonly MenuEntry[] = menu;
  let found: MenuEntry | undefined;
  for (const part of parts) {
    found = /^\d+$/.test(part) ? level[Number(part)] : (level.find((e) => e.id === part) ?? level.find((e) => e.title === part));
    if (!found) return undefined;
    level = found.children;
  }
  return found;
}

/** The first bootable entry at or below `e` (a submenu boots its first entry). */
export function firstBootable(e: MenuEntry | undefined): MenuEntry | undefined {
  let cur = e;
  for (let steps = 0; cur && cur.kind === 'submenu' && steps < MAX_DEFAULT_PATH_PARTS; steps++) cur = cur.children[0];
  return cur && cur.kind !== 'submenu' ? cur : undefined;
}
