/**
 * Go build information embedded in an executable, after Go's own reader, src/debug/buildinfo/
 * buildinfo.go (go1.22: `readRawBuildInfo`, `decodeString`, `readString`, `elfExe.DataStart`)
 * and the modinfo text format of src/runtime/debug/mod.go (`ParseBuildInfo`).
 *
 * The linker writes a 32-byte header, 16-byte aligned, into `.go.buildinfo` (or, where sections
 * are stripped, near the start of the first writable, non-executable PT_LOAD segment):
 * "\xff Go buildinf:" (14 bytes), pointer size (1 byte), flags (1 byte: bit 0 big endian,
 * bit 1 "version inline"), then
 * - Go ≥ 1.18 (inline): after the header, the Go version and the modinfo as uvarint-length-
 *   prefixed strings;
 * - Go < 1.18 (pointers): at 16 and 16 + ptrSize, the virtual addresses of two Go string
 *   headers (data pointer, length), resolved through the PT_LOAD segments.
 * The modinfo string is framed by 16-byte sentinels, stripped when `mod[len-17] == '\n'`.
 */
import { BudgetError, CorruptError, NotThisFormatError } from '../../util/errors.ts';
import { PF_W, PF_X, PT_LOAD, SHT_NOBITS, readElf, type ElfFile, type ReadAt } from './elf.ts';

export const GO_BUILDINFO_MAGIC = Uint8Array.from([0xff, ...' Go buildinf:'].map((c) => (typeof c === 'number' ? c : c.charCodeAt(0))));
const HEADER_BYTES = 32;
const ALIGN = 16;
/** buildinfo.go reads this much of the data segment when looking for the header. */
export const GO_BUILDINFO_SCAN_BYTES = 64 * 1024;
/** Version + modinfo bytes read after the header (kubelet's modinfo is ~20 KiB). */
export const MAX_GO_BUILDINFO_BYTES = 4 * 1024 * 1024;
/** Longest version or modinfo string accepted from a pointer-format binary. */
export const MAX_GO_STRING_BYTES = MAX_GO_BUILDINFO_BYTES;
/** Lines of modinfo parsed. */
export const MAX_GO_MODINFO_LINES = 100_000;

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

export interface GoBuildInfo {
  /** As recorded ("go1.22.5", "go1.22.5 X:boringcrypto", "devel go1.23-abc"). */
  goVersion: string;
  /** Package path of the main package ("github.com/containerd/containerd/cmd/containerd"). */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  settings: { key: string; value: string }[];
  /** Where the header was found: "elf .go.buildinfo" or "elf data segment". */
  foundIn: string;
  /** Pointer (Go < 1.18) or inline format. */
  format: 'inline' | 'pointer';
  /** Modinfo lines that did not parse (the rest is still used). */
  warnings: string[];
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

function indexOfMagic(data: Uint8Array, from: number): number {
  const m = GO_BUILDINFO_MAGIC;
  outer: for (let i = from; i + m.length <= data.length; i++) {
    if (data[i] !== m[0]) continue;
    for (let j = 1; j < m.length; j++) if (data[i + j] !== m[j]) continue outer;
    return i;
  }
  return -1;
}

/** A uvarint (encoding/binary) and its byte length; undefined when malformed or over 2^53. */
export function uvarint(b: Uint8Array, at: number): { value: number; bytes: number } | undefined {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10 && at + i < b.length; i++) {
    const c = b[at + i]!;
    v += (c & 0x7f) * mul;
    if (v > Number.MAX_SAFE_INTEGER) return undefined;
    if ((c & 0x80) === 0) return { value: v, bytes: i + 1 };
    mul *= 128;
  }
  return undefined;
}

/** buildinfo.go decodeString: a uvarint length and that many bytes, or undefined. */
function decodeString(b: Uint8Array, at: number, what: string): { value: Uint8Array; next: number } {
  const n = uvarint(b, at);
  if (n === undefined) throw new CorruptError(`Go build info: ${what} length is not a valid varint`, { location: what });
  if (n.value > MAX_GO_STRING_BYTES) throw new BudgetError(`Go build info: ${what} of ${n.value} bytes (limit ${MAX_GO_STRING_BYTES})`, { location: what });
  const start = at + n.bytes;
  if (start + n.value > b.length) throw new CorruptError(`Go build info: ${what} of ${n.value} bytes runs past the ${b.length} bytes read`, { location: what });
  return { value: b.subarray(start, start + n.value), next: start + n.value };
}

/** Maps a virtual address range to file bytes through the PT_LOAD segments (elfExe.ReadData). */
async function readVirtual(elf: ElfFile, read: ReadAt, size: number, addr: number, length: number, what: string): Promise<Uint8Array> {
  for (const p of elf.segments) {
    if (p.type !== PT_LOAD || p.filesz === 0) continue;
    if (addr >= p.vaddr && addr <= p.vaddr + p.filesz - 1) {
      const off = p.offset + (addr - p.vaddr);
      const n = Math.min(length, p.vaddr + p.filesz - addr);
      if (off + n > size) throw new CorruptError(`Go build info: ${what} at file offset ${off} is past the end`, { location: what });
      return read(off, n);
    }
  }
  throw new CorruptError(`Go build info: ${what} address 0x${addr.toString(16)} is in no loaded segment`, { location: what });
}

/** The file window holding the header: the section, or the data segment's first bytes. */
function dataStart(elf: ElfFile): { offset: number; size: number; vaddr: number; foundIn: string } | undefined {
  const s = elf.sections.find((x) => x.name === '.go.buildinfo' && x.type !== SHT_NOBITS);
  if (s !== undefined) return { offset: s.offset, size: s.size, vaddr: s.addr, foundIn: 'elf .go.buildinfo' };
  // Every Go linker since 1.13 (the first with build info) names the section; a binary that kept
  // its section headers without one is not Go, so only a section-stripped binary (strip -s keeps
  // program headers only) is searched in its data segment, as debug/buildinfo does. This keeps
  // the hundreds of C executables in /usr/bin from costing a data-segment read each.
  if (elf.sections.length > 0) return undefined;
  const p = elf.segments.find((x) => x.type === PT_LOAD && (x.flags & (PF_X | PF_W)) === PF_W);
  if (p !== undefined) return { offset: p.offset, size: p.filesz, vaddr: p.vaddr, foundIn: 'elf data segment' };
  return undefined;
}

/**
 * Reads the Go build info of an ELF file. NotThisFormatError when the file is not ELF or not a
 * Go binary (no header found); CorruptError / BudgetError when it is Go but broken.
 */
export async function readGoBuildInfo(read: ReadAt, size: number): Promise<GoBuildInfo> {
  const elf = await readElf(read, size);
  const win = dataStart(elf);
  if (win === undefined) throw new NotThisFormatError('not a Go binary: no .go.buildinfo section or data segment');
  if (win.offset + win.size > size) throw new CorruptError(`${win.foundIn} [${win.offset}, ${win.offset + win.size}) runs past the ${size}-byte file`, { location: win.foundIn });
  const scan = await read(win.offset, Math.min(win.size, GO_BUILDINFO_SCAN_BYTES));
  let at = -1;
  for (let from = 0; ; ) {
    const i = indexOfMagic(scan, from);
    if (i < 0 || scan.length - i < HEADER_BYTES) break;
    if (i % ALIGN === 0) {
      at = i;
      break;
    }
    from = (i + ALIGN - 1) & ~(ALIGN - 1);
  }
  if (at < 0) throw new NotThisFormatError(`not a Go binary: no build info header in ${win.foundIn}`);
  const header = scan.subarray(at, at + HEADER_BYTES);
  const ptrSize = header[14]!;
  const flags = header[15]!;
  let vers: Uint8Array;
  let mod: Uint8Array;
  let format: GoBuildInfo['format'];
  if ((flags & 2) !== 0) {
    format = 'inline';
    const avail = Math.min(win.size - at, MAX_GO_BUILDINFO_BYTES);
    const body = await read(win.offset + at, avail);
    const v = decodeString(body, HEADER_BYTES, 'version');
    vers = v.value;
    mod = decodeString(body, v.next, 'modinfo').value;
  } else {
    format = 'pointer';
    if (ptrSize !== 4 && ptrSize !== 8) throw new CorruptError(`Go build info: pointer size ${ptrSize}`, { location: 'header' });
    const bigEndian = (flags & 1) !== 0;
    const ptr = (b: Uint8Array, off: number, what: string): number => {
      if (b.length < off + ptrSize) throw new CorruptError(`Go build info: ${what} truncated`, { location: what });
      const dv = new DataView(b.buffer, b.byteOffset + off, ptrSize);
      if (ptrSize === 4) return dv.getUint32(0, !bigEndian);
      const x = dv.getBigUint64(0, !bigEndian);
      if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`Go build info: ${what} 0x${x.toString(16)} out of range`, { location: what });
      return Number(x);
    };
    const readString = async (addr: number, what: string): Promise<Uint8Array> => {
      const hdr = await readVirtual(elf, read, size, addr, 2 * ptrSize, `${what} string header`);
      const dataAddr = ptr(hdr, 0, `${what} data pointer`);
      const len = ptr(hdr, ptrSize, `${what} length`);
      if (len > MAX_GO_STRING_BYTES) throw new BudgetError(`Go build info: ${what} of ${len} bytes (limit ${MAX_GO_STRING_BYTES})`, { location: what });
      if (len === 0) return new Uint8Array(0);
      const b = await readVirtual(elf, read, size, dataAddr, len, what);
      if (b.length !== len) throw new CorruptError(`Go build info: ${what} of ${len} bytes is cut short by its segment`, { location: what });
      return b;
    };
    vers = await readString(ptr(header, 16, 'version pointer'), 'version');
    mod = await readString(ptr(header, 16 + ptrSize, 'modinfo pointer'), 'modinfo');
  }
  const goVersion = latin1.decode(vers);
  if (goVersion === '') throw new NotThisFormatError('not a Go binary: empty Go version');
  // Strip the sentinels framing modinfo (runtime/debug's modinfo start/end markers).
  const modText = mod.length >= 33 && mod[mod.length - 17] === 0x0a ? utf8.decode(mod.subarray(16, mod.length - 16)) : '';
  return { goVersion, foundIn: win.foundIn, format, ...parseModinfo(modText) };
}

function parseModule(cols: string[]): GoModule | undefined {
  // ParseBuildInfo's readModule: path, version and an optional sum.
  if (cols.length < 2 || cols.length > 3 || cols[0] === '') return undefined;
  const m: GoModule = { path: cols[0]!, version: cols[1]! };
  if (cols[2] !== undefined && cols[2] !== '') m.sum = cols[2];
  return m;
}

/** runtime/debug.ParseBuildInfo over the modinfo text, keeping what parses and noting the rest. */
export function parseModinfo(text: string): Pick<GoBuildInfo, 'path' | 'main' | 'deps' | 'settings' | 'warnings'> {
  const out: Pick<GoBuildInfo, 'path' | 'main' | 'deps' | 'settings' | 'warnings'> = { deps: [], settings: [], warnings: [] };
  let last: GoModule | undefined;
  const lines = text.split('\n');
  if (lines.length > MAX_GO_MODINFO_LINES) throw new BudgetError(`Go modinfo has ${lines.length} lines (limit ${MAX_GO_MODINFO_LINES})`, { location: 'modinfo' });
  for (const [n, line] of lines.entries()) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    const word = tab < 0 ? line : line.slice(0, tab);
    const rest = tab < 0 ? '' : line.slice(tab + 1);
    const bad = (why: string): void => {
      out.warnings.push(`modinfo line ${n + 1}: ${why}`);
    };
    switch (word) {
      case 'path':
        out.path = rest;
        break;
      case 'mod': {
        const m = parseModule(rest.split('\t'));
        if (m === undefined) bad('malformed mod line');
        else out.main = last = m;
        break;
      }
      case 'dep': {
        const m = parseModule(rest.split('\t'));
        if (m === undefined) bad('malformed dep line');
        else {
          out.deps.push(m);
          last = m;
        }
        break;
      }
      case '=>': {
        const cols = rest.split('\t');
        if (cols.length !== 3 || cols[0] === '') bad('replacement needs 3 columns');
        else if (last === undefined) bad('replacement with no module before it');
        else {
          last.replace = { path: cols[0]!, version: cols[1]! };
          if (cols[2] !== '') last.replace.sum = cols[2]!;
          last = undefined;
        }
        break;
      }
      case 'build': {
        const eq = rest.indexOf('=');
        if (eq <= 0) bad('build setting without key=value');
        else {
          let key = rest.slice(0, eq);
          let value = rest.slice(eq + 1);
          // Keys and values containing spaces, tabs, quotes or '=' are Go-quoted (strconv.Quote).
          if (key.startsWith('"')) key = unquote(key);
          if (value.startsWith('"')) value = unquote(value);
          out.settings.push({ key, value });
        }
        break;
      }
      default:
        bad(`unknown line '${word.slice(0, 32)}'`);
    }
  }
  return out;
}

function unquote(s: string): string {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'string' ? v : s;
  } catch {
    return s;
  }
}
