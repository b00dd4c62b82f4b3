/**
 * dpkg's control-file syntax (deb822 as dpkg reads it; dpkg lib/dpkg/parse.c and man 5
 * deb822): paragraphs separated by empty lines, `Field: value` lines, continuation lines that
 * begin with a space or tab. Field names are case-insensitive. Only the fields a caller keeps
 * are stored, so a huge Description costs a scan, not memory.
 */
import { splitLines } from '../text.ts';

/** Paragraphs one database may hold (Debian's full archive has ~70k binary packages). */
export const MAX_PARAGRAPHS = 500_000;
/** A kept field's value longer than this marks the record invalid (real values are < 1 KiB). */
export const MAX_KEPT_FIELD_CHARS = 64 * 1024;

export interface ControlParagraph {
  /** 1-based line of the paragraph's first field. */
  line: number;
  /** Lowercased field name → value (continuation lines joined with "\n"). */
  fields: Map<string, string>;
  /** Problems in this paragraph, with their 1-based line. */
  errors: { line: number; message: string }[];
}

export interface ControlParse {
  paragraphs: ControlParagraph[];
  /** Set when MAX_PARAGRAPHS stopped the parse. */
  truncated: boolean;
}

export function parseControl(text: string, keep: ReadonlySet<string>): ControlParse {
  const lines = splitLines(text);
  const paragraphs: ControlParagraph[] = [];
  let cur: ControlParagraph | undefined;
  let lastKept: string | undefined;
  let lastField: string | undefined;
  for (const [i, line] of lines.entries()) {
    const lineNo = i + 1;
    if (line.trim() === '') {
      cur = undefined;
      lastField = undefined;
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!cur || lastField === undefined) {
        if (!cur) {
          if (paragraphs.length >= MAX_PARAGRAPHS) return { paragraphs, truncated: true };
          cur = newParagraph(lineNo);
        }
        cur.errors.push({ line: lineNo, message: 'continuation line outside a field' });
        continue;
      }
      if (lastKept !== undefined) appendValue(cur, lastKept, '\n' + line.trimStart(), lineNo);
      continue;
    }
    if (!cur) {
      if (paragraphs.length >= MAX_PARAGRAPHS) return { paragraphs, truncated: true };
      cur = newParagraph(lineNo);
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      cur.errors.push({ line: lineNo, message: 'line is neither a field nor a continuation' });
      lastField = undefined;
      lastKept = undefined;
      continue;
    }
    const name = line.slice(0, colon).toLowerCase();
    lastField = name;
    lastKept = keep.has(name) ? name : undefined;
    if (lastKept === undefined) continue;
    if (cur.fields.has(name)) cur.errors.push({ line: lineNo, message: `duplicate field '${line.slice(0, colon)}'` });
    cur.fields.set(name, '');
    appendValue(cur, name, line.slice(colon + 1).trim(), lineNo);
  }
  return { paragraphs, truncated: false };

  function newParagraph(lineNo: number): ControlParagraph {
    const p: ControlParagraph = { line: lineNo, fields: new Map(), errors: [] };
    paragraphs.push(p);
    return p;
  }
}

function appendValue(p: ControlParagraph, name: string, more: string, lineNo: number): void {
  const v = (p.fields.get(name) ?? '') + more;
  if (v.length > MAX_KEPT_FIELD_CHARS) {
    if (!p.errors.some((e) => e.message.startsWith(`field '${name}'`))) p.errors.push({ line: lineNo, message: `field '${name}' longer than ${MAX_KEPT_FIELD_CHARS} characters` });
    return;
  }
  p.fields.set(name, v);
}
