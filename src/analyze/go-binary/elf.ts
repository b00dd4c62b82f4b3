/**
 * A bounded ELF reader: the file header, program headers (segments) and section headers with
 * their names, for 32- and 64-bit files in either byte order (System V ABI, "ELF Header",
 * "Sections", "Program Header"; glibc elf.h). It reads through a random-access callback, never
 * the whole file: a 100 MiB kubelet costs the 64-byte header, the header tables and the
 * section-name table.
 */
import { CorruptError, NotThisFormatError } from '../../util/errors.ts';

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
/** Section headers read (Go binaries have about 40; an ELF with more is refused). */
export const MAX_ELF_SECTIONS = 4096;
/** Program headers read. */
export const MAX_ELF_SEGMENTS = 512;
/** Size of the section-name string table read. */
export const MAX_ELF_SHSTRTAB_BYTES = 1024 * 1024;
const MAX_SECTION_NAME_BYTES = 256;

export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
export const SHT_NOBITS = 8;
const SHN_UNDEF = 0;
const SHN_XINDEX = 0xffff;

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

export interface ElfFile {
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
  segments: ElfSegment[];
  sections: ElfSection[];
}

/** Reads [offset, offset + length) of the file; may return fewer bytes at the end. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

async function readExact(read: ReadAt, size: number, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || offset + length > size) {
    throw new CorruptError(`ELF ${what}: bytes [${offset}, ${offset + length}) are past the end of the ${size}-byte file`, { location: `offset ${offset}` });
  }
  const b = await read(offset, length);
  if (b.length !== length) throw new CorruptError(`ELF ${what}: short read (${b.length} of ${length} bytes)`, { location: `offset ${offset}` });
  return b;
}

function word(dv: DataView, at: number, bits: 32 | 64, le: boolean, what: string): number {
  if (bits === 32) return dv.getUint32(at, le);
  const v = dv.getBigUint64(at, le);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`ELF ${what} out of range: ${v}`, { location: what });
  return Number(v);
}

/** Whether the first bytes are the ELF magic (a cheap test before readElf). */
export function isElf(head: Uint8Array): boolean {
  return head.length >= 4 && ELF_MAGIC.every((b, i) => head[i] === b);
}

export async function readElf(read: ReadAt, size: number): Promise<ElfFile> {
  if (size < 52) throw new NotThisFormatError('not ELF: shorter than an ELF header');
  const ident = await readExact(read, size, 0, 64 <= size ? 64 : 52, 'header');
  if (!isElf(ident)) throw new NotThisFormatError('not ELF: no magic');
  const cls = ident[4];
  const data = ident[5];
  if (cls !== 1 && cls !== 2) throw new CorruptError(`ELF class ${cls} is neither 32- nor 64-bit`, { location: 'e_ident' });
  if (data !== 1 && data !== 2) throw new CorruptError(`ELF data encoding ${data} is neither little nor big endian`, { location: 'e_ident' });
  const bits = cls === 1 ? 32 : 64;
  const le = data === 1;
  if (bits === 64 && ident.length < 64) throw new CorruptError('ELF: 64-bit header truncated', { location: 'header' });
  const dv = new DataView(ident.buffer, ident.byteOffset, ident.byteLength);
  const machine = dv.getUint16(18, le);
  const phoff = word(dv, bits === 32 ? 28 : 32, bits, le, 'e_phoff');
  const shoff = word(dv, bits === 32 ? 32 : 40, bits, le, 'e_shoff');
  const base = bits === 32 ? 42 : 54;
  const phentsize = dv.getUint16(base, le);
  let phnum = dv.getUint16(base + 2, le);
  const shentsize = dv.getUint16(base + 4, le);
  let shnum = dv.getUint16(base + 6, le);
  let shstrndx = dv.getUint16(base + 8, le);
  const wantPh = bits === 32 ? 32 : 56;
  const wantSh = bits === 32 ? 40 : 64;

  // Extended numbering (gABI): counts that do not fit 16 bits live in section header 0.
  if (shoff !== 0 && (shnum === 0 || shstrndx === SHN_XINDEX || phnum === 0xffff)) {
    if (shentsize !== wantSh) throw new CorruptError(`ELF e_shentsize ${shentsize}, expected ${wantSh}`, { location: 'e_shentsize' });
    const s0 = await readExact(read, size, shoff, wantSh, 'section header 0');
    const d0 = new DataView(s0.buffer, s0.byteOffset, s0.byteLength);
    if (shnum === 0) shnum = word(d0, bits === 32 ? 20 : 32, bits, le, 'sh_size[0]');
    if (shstrndx === SHN_XINDEX) shstrndx = d0.getUint32(bits === 32 ? 24 : 40, le);
    if (phnum === 0xffff) phnum = d0.getUint32(bits === 32 ? 28 : 44, le);
  }

  const segments: ElfSegment[] = [];
  if (phoff !== 0 && phnum > 0) {
    if (phentsize !== wantPh) throw new CorruptError(`ELF e_phentsize ${phentsize}, expected ${wantPh}`, { location: 'e_phentsize' });
    if (phnum > MAX_ELF_SEGMENTS) throw new CorruptError(`ELF has ${phnum} program headers (limit ${MAX_ELF_SEGMENTS})`, { location: 'e_phnum' });
    const ph = await readExact(read, size, phoff, phnum * wantPh, 'program headers');
    const pv = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
    for (let i = 0; i < phnum; i++) {
      const at = i * wantPh;
      const what = `program header ${i}`;
      segments.push(bits === 32
        ? { type: pv.getUint32(at, le), offset: pv.getUint32(at + 4, le), vaddr: pv.getUint32(at + 8, le), filesz: pv.getUint32(at + 16, le), memsz: pv.getUint32(at + 20, le), flags: pv.getUint32(at + 24, le) }
        : { type: pv.getUint32(at, le), flags: pv.getUint32(at + 4, le), offset: word(pv, at + 8, 64, le, what), vaddr: word(pv, at + 16, 64, le, what), filesz: word(pv, at + 32, 64, le, what), memsz: word(pv, at + 40, 64, le, what) });
    }
  }

  const sections: ElfSection[] = [];
  if (shoff !== 0 && shnum > 0) {
    if (shentsize !== wantSh) throw new CorruptError(`ELF e_shentsize ${shentsize}, expected ${wantSh}`, { location: 'e_shentsize' });
    if (shnum > MAX_ELF_SECTIONS) throw new CorruptError(`ELF has ${shnum} sections (limit ${MAX_ELF_SECTIONS})`, { location: 'e_shnum' });
    const sh = await readExact(read, size, shoff, shnum * wantSh, 'section headers');
    const sv = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
    const raw: (ElfSection & { nameOff: number })[] = [];
    for (let i = 0; i < shnum; i++) {
      const at = i * wantSh;
      const what = `section header ${i}`;
      raw.push(bits === 32
        ? { name: '', nameOff: sv.getUint32(at, le), type: sv.getUint32(at + 4, le), flags: sv.getUint32(at + 8, le), addr: sv.getUint32(at + 12, le), offset: sv.getUint32(at + 16, le), size: sv.getUint32(at + 20, le) }
        : { name: '', nameOff: sv.getUint32(at, le), type: sv.getUint32(at + 4, le), flags: word(sv, at + 8, 64, le, what), addr: word(sv, at + 16, 64, le, what), offset: word(sv, at + 24, 64, le, what), size: word(sv, at + 32, 64, le, what) });
    }
    let names: Uint8Array | undefined;
    if (shstrndx !== SHN_UNDEF) {
      const st = raw[shstrndx];
      if (st === undefined) throw new CorruptError(`ELF e_shstrndx ${shstrndx} is not one of ${shnum} sections`, { location: 'e_shstrndx' });
      if (st.size > MAX_ELF_SHSTRTAB_BYTES) throw new CorruptError(`ELF section-name table of ${st.size} bytes (limit ${MAX_ELF_SHSTRTAB_BYTES})`, { location: 'shstrtab' });
      names = await readExact(read, size, st.offset, st.size, 'section-name table');
    }
    const decoder = new TextDecoder('utf-8', { fatal: false });
    for (const r of raw) {
      let name = '';
      if (names !== undefined && r.nameOff < names.length) {
        const end = names.indexOf(0, r.nameOff);
        name = decoder.decode(names.subarray(r.nameOff, Math.min(end < 0 ? names.length : end, r.nameOff + MAX_SECTION_NAME_BYTES)));
      }
      sections.push({ name, type: r.type, flags: r.flags, addr: r.addr, offset: r.offset, size: r.size });
    }
  }
  return { bits, littleEndian: le, machine, segments, sections };
}
