/**
 * A bounded parser for LVM2's text metadata format (the "config" syntax of lvm2
 * lib/config/config.c and libdm/libdm-config.c, as written by lib/format_text/export.c):
 *
 *   name { key = value  key = [v, v]  child { ... } }   # comments to end of line
 *
 * Values are double-quoted strings (with \" and \\ escapes), integers, floats, or flat arrays
 * of those. The parser is iterative with an explicit stack capped at MAX_SECTION_DEPTH, and
 * counts every node against MAX_CONFIG_NODES, so hostile text cannot recurse or explode.
 */
import { CorruptError } from '../../util/errors.ts';

/** Real metadata nests four levels (vg > logical_volumes > lv > segment). */
export const MAX_SECTION_DEPTH = 16;
/** Sections, keys and array items in one metadata text. */
export const MAX_CONFIG_NODES = 1_000_000;
/** Items in one array (a segment's stripes list holds two per stripe). */
export const MAX_ARRAY_ITEMS = 65_536;

export type ConfigScalar = string | number;
export type ConfigValue = ConfigScalar | ConfigScalar[];

export interface ConfigSection {
  readonly name: string;
  readonly values: Map<string, ConfigValue>;
  readonly sections: Map<string, ConfigSection>;
}

function newSection(name: string): ConfigSection {
  return { name, values: new Map(), sections: new Map() };
}

const SPECIAL = new Set(['{', '}', '[', ']', '=', ',', '"', "'", '#']);

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'punct'; text: string; at: number }
  | { kind: 'eof'; text: ''; at: number };

class Lexer {
  readonly #s: string;
  #i = 0;

  constructor(s: string) {
    this.#s = s;
  }

  next(): Token {
    const s = this.#s;
    // Skip whitespace and comments.
    for (;;) {
      while (this.#i < s.length && isSpace(s.charCodeAt(this.#i))) this.#i++;
      if (s[this.#i] === '#') {
        const nl = s.indexOf('\n', this.#i);
        this.#i = nl < 0 ? s.length : nl + 1;
        continue;
      }
      break;
    }
    const at = this.#i;
    if (at >= s.length) return { kind: 'eof', text: '', at };
    const c = s[at]!;
    if (c === '"' || c === "'") return this.#string(c, at);
    if (SPECIAL.has(c)) {
      this.#i++;
      return { kind: 'punct', text: c, at };
    }
    let j = at;
    while (j < s.length && !isSpace(s.charCodeAt(j)) && !SPECIAL.has(s[j]!)) j++;
    this.#i = j;
    return { kind: 'word', text: s.slice(at, j), at };
  }

  #string(quote: string, at: number): Token {
    const s = this.#s;
    let out = '';
    let j = at + 1;
    let runStart = j;
    for (;;) {
      if (j >= s.length) throw new CorruptError('LVM metadata: unterminated string', { location: `metadata text offset ${at}` });
      const c = s[j]!;
      if (c === quote) break;
      if (c === '\\' && j + 1 < s.length) {
        out += s.slice(runStart, j) + s[j + 1]!;
        j += 2;
        runStart = j;
        continue;
      }
      j++;
    }
    out += s.slice(runStart, j);
    this.#i = j + 1;
    return { kind: 'string', text: out, at };
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

function scalarFrom(tok: Token): ConfigScalar {
  if (tok.kind === 'string') return tok.text;
  if (tok.kind !== 'word') throw new CorruptError(`LVM metadata: expected a value, found "${tok.text}"`, { location: `metadata text offset ${tok.at}` });
  if (/^-?[0-9]+$/.test(tok.text)) {
    const n = Number(tok.text);
    if (!Number.isSafeInteger(n)) throw new CorruptError(`LVM metadata: integer ${tok.text} is out of range`, { location: `metadata text offset ${tok.at}` });
    return n;
  }
  if (/^-?[0-9]+\.[0-9]+$/.test(tok.text)) return Number(tok.text);
  // A bare word: LVM itself rejects it, but it carries no risk; keep it as text.
  return tok.text;
}

/**
 * Parses metadata text into a tree rooted at an unnamed section. Throws CorruptError on syntax
 * errors, excessive depth or node count.
 */
export function parseConfig(text: string): ConfigSection {
  const lx = new Lexer(text);
  const root = newSection('');
  const stack: ConfigSection[] = [root];
  let nodes = 0;
  const loc = (t: Token) => ({ location: `metadata text offset ${t.at}` });
  for (;;) {
    const tok = lx.next();
    const current = stack[stack.length - 1]!;
    if (tok.kind === 'eof') {
      if (stack.length !== 1) throw new CorruptError(`LVM metadata: section "${current.name}" is not closed`, loc(tok));
      return root;
    }
    if (tok.kind === 'punct' && tok.text === '}') {
      if (stack.length === 1) throw new CorruptError('LVM metadata: unbalanced "}"', loc(tok));
      stack.pop();
      continue;
    }
    if (tok.kind !== 'word' && tok.kind !== 'string') throw new CorruptError(`LVM metadata: expected a name, found "${tok.text}"`, loc(tok));
    if (++nodes > MAX_CONFIG_NODES) throw new CorruptError(`LVM metadata: more than ${MAX_CONFIG_NODES} nodes`, loc(tok));
    const name = tok.text;
    const op = lx.next();
    if (op.kind === 'punct' && op.text === '{') {
      if (stack.length > MAX_SECTION_DEPTH) throw new CorruptError(`LVM metadata: sections nested deeper than ${MAX_SECTION_DEPTH}`, loc(op));
      if (current.sections.has(name)) throw new CorruptError(`LVM metadata: duplicate section "${name}"`, loc(tok));
      const child = newSection(name);
      current.sections.set(name, child);
      stack.push(child);
      continue;
    }
    if (op.kind !== 'punct' || op.text !== '=') throw new CorruptError(`LVM metadata: expected "=" or "{" after "${name}"`, loc(op));
    const v = lx.next();
    if (v.kind === 'punct' && v.text === '[') {
      const items: ConfigScalar[] = [];
      let t = lx.next();
      while (!(t.kind === 'punct' && t.text === ']')) {
        if (items.length >= MAX_ARRAY_ITEMS) throw new CorruptError(`LVM metadata: array "${name}" has more than ${MAX_ARRAY_ITEMS} items`, loc(t));
        if (++nodes > MAX_CONFIG_NODES) throw new CorruptError(`LVM metadata: more than ${MAX_CONFIG_NODES} nodes`, loc(t));
        items.push(scalarFrom(t));
        t = lx.next();
        if (t.kind === 'punct' && t.text === ',') t = lx.next();
        else if (!(t.kind === 'punct' && t.text === ']')) throw new CorruptError(`LVM metadata: expected "," or "]" in array "${name}"`, loc(t));
      }
      current.values.set(name, items);
    } else {
      current.values.set(name, scalarFrom(v));
    }
  }
}
