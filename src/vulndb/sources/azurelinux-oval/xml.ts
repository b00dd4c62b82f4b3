/**
 * A small pull tokenizer for the XML subset OVAL files use: elements, attributes, text, CDATA,
 * comments, processing instructions. Written for hostile input:
 * - no DTD: a `<!DOCTYPE` is refused (UnsupportedError), so there is no entity declaration,
 *   expansion ("billion laughs") or external entity (XXE);
 * - only the five predefined entities and numeric character references are decoded; any other
 *   `&name;` is corrupt;
 * - iterative (no recursion); nesting depth, attribute count, name length and text length are
 *   bounded by named constants; end tags must match their start tags.
 *
 * Follows XML 1.0 (Fifth Edition) §2.4 (character data), §2.8 (prolog), §3.1 (tags), §4.1
 * (character references), §4.6 (predefined entities), without validation.
 */
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { MiB } from '../../../util/units.ts';

export const MAX_XML_DEPTH = 64;
export const MAX_XML_ATTRIBUTES = 64;
export const MAX_XML_NAME_CHARS = 256;
/** Longest text node or attribute value (an OVAL description is a few KiB). */
export const MAX_XML_TEXT_CHARS = 1 * MiB;

export type XmlEvent =
  | { kind: 'open'; name: string; attrs: Record<string, string>; selfClosing: boolean }
  | { kind: 'close'; name: string }
  | { kind: 'text'; text: string };

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
const NAME = /^[A-Za-z_:][A-Za-z0-9_.:-]*$/;

/** Decodes entity and character references in text or an attribute value. */
export function decodeEntities(s: string, at: number): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,32});/g, (_m, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X')) return codePoint(Number.parseInt(ref.slice(2), 16), at);
    if (ref.startsWith('#')) return codePoint(Number.parseInt(ref.slice(1), 10), at);
    const v = PREDEFINED[ref];
    if (v === undefined) throw new CorruptError(`XML: undefined entity &${ref.slice(0, 32)}; (no DTD is read)`, { location: `offset ${at}` });
    return v;
  });
}

function codePoint(n: number, at: number): string {
  if (!Number.isInteger(n) || n <= 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) throw new CorruptError('XML: invalid character reference', { location: `offset ${at}` });
  return String.fromCodePoint(n);
}

/** The local part of a qualified name ("linux-def:rpminfo_test" → "rpminfo_test"). */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** Yields the events of an XML document, checking well-formedness of the tag structure. */
export function* tokenize(xml: string): Generator<XmlEvent> {
  const stack: string[] = [];
  let i = 0;
  const n = xml.length;
  let sawRoot = false;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const raw = xml.slice(i, textEnd);
      if (stack.length > 0) {
        if (raw.length > MAX_XML_TEXT_CHARS) throw new CorruptError(`XML: text longer than ${MAX_XML_TEXT_CHARS} characters`, { location: `offset ${i}` });
        yield { kind: 'text', text: decodeEntities(raw, i) };
      } else if (raw.trim() !== '') {
        throw new CorruptError('XML: text outside the root element', { location: `offset ${i}` });
      }
    }
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end < 0) throw new CorruptError('XML: unterminated comment', { location: `offset ${lt}` });
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt + 9);
      if (end < 0) throw new CorruptError('XML: unterminated CDATA section', { location: `offset ${lt}` });
      if (stack.length === 0) throw new CorruptError('XML: CDATA outside the root element', { location: `offset ${lt}` });
      if (end - lt - 9 > MAX_XML_TEXT_CHARS) throw new CorruptError(`XML: CDATA longer than ${MAX_XML_TEXT_CHARS} characters`, { location: `offset ${lt}` });
      yield { kind: 'text', text: xml.slice(lt + 9, end) };
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) throw new CorruptError('XML: unterminated processing instruction', { location: `offset ${lt}` });
      i = end + 2;
      continue;
    }
    if (xml.startsWith('<!', lt)) {
      throw new UnsupportedError('XML: DOCTYPE / markup declarations are refused (no DTD processing)', { location: `offset ${lt}` });
    }
    const gt = findTagEnd(xml, lt + 1);
    if (gt < 0) throw new CorruptError('XML: unterminated tag', { location: `offset ${lt}` });
    const body = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (body.startsWith('/')) {
      const name = body.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new CorruptError(`XML: end tag </${name.slice(0, 64)}> does not match <${(open ?? '').slice(0, 64)}>`, { location: `offset ${lt}` });
      yield { kind: 'close', name };
      continue;
    }
    const selfClosing = body.endsWith('/');
    const inner = selfClosing ? body.slice(0, -1) : body;
    const { name, attrs } = parseTag(inner, lt);
    if (stack.length === 0) {
      if (sawRoot) throw new CorruptError('XML: more than one root element', { location: `offset ${lt}` });
      sawRoot = true;
    }
    yield { kind: 'open', name, attrs, selfClosing };
    if (selfClosing) {
      yield { kind: 'close', name };
    } else {
      if (stack.length >= MAX_XML_DEPTH) throw new CorruptError(`XML: nesting deeper than ${MAX_XML_DEPTH}`, { location: `offset ${lt}` });
      stack.push(name);
    }
  }
  if (stack.length > 0) throw new CorruptError(`XML: document ends inside <${stack[stack.length - 1]!.slice(0, 64)}> (truncated?)`);
  if (!sawRoot) throw new CorruptError('XML: no root element');
}

/** Index of the `>` closing a tag that starts at `from`, skipping quoted attribute values. */
function findTagEnd(xml: string, from: number): number {
  let quote = '';
  for (let j = from; j < xml.length; j++) {
    const c = xml[j]!;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return j;
    } else if (c === '<') {
      return -1;
    }
  }
  return -1;
}

const ATTR = /\s*([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/y;

function parseTag(inner: string, at: number): { name: string; attrs: Record<string, string> } {
  const m = /^([^\s/>]+)/.exec(inner);
  if (!m) throw new CorruptError('XML: tag without a name', { location: `offset ${at}` });
  const name = m[1]!;
  if (name.length > MAX_XML_NAME_CHARS || !NAME.test(name)) throw new CorruptError(`XML: invalid element name ${name.slice(0, 64)}`, { location: `offset ${at}` });
  // Collected in a Map: a key such as "__proto__" must stay data, never touch a prototype.
  const attrs = new Map<string, string>();
  let count = 0;
  let pos = name.length;
  ATTR.lastIndex = pos;
  for (;;) {
    if (/^\s*$/.test(inner.slice(pos))) break;
    ATTR.lastIndex = pos;
    const a = ATTR.exec(inner);
    if (!a) throw new CorruptError(`XML: malformed attribute in <${name.slice(0, 64)}>`, { location: `offset ${at}` });
    const key = a[1]!;
    if (key.length > MAX_XML_NAME_CHARS || !NAME.test(key)) throw new CorruptError(`XML: invalid attribute name in <${name.slice(0, 64)}>`, { location: `offset ${at}` });
    if (++count > MAX_XML_ATTRIBUTES) throw new CorruptError(`XML: more than ${MAX_XML_ATTRIBUTES} attributes`, { location: `offset ${at}` });
    if (attrs.has(key)) throw new CorruptError(`XML: duplicate attribute ${key.slice(0, 64)}`, { location: `offset ${at}` });
    const value = a[3] ?? a[4] ?? '';
    if (value.length > MAX_XML_TEXT_CHARS) throw new CorruptError('XML: attribute value too long', { location: `offset ${at}` });
    if (value.includes('<')) throw new CorruptError('XML: "<" in an attribute value', { location: `offset ${at}` });
    attrs.set(key, decodeEntities(value, at));
    pos = ATTR.lastIndex;
  }
  return { name, attrs: Object.fromEntries(attrs) };
}
