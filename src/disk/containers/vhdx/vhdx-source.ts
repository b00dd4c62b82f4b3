/**
 * The virtual disk of a VHDX (fixed or dynamic): payload blocks located through the BAT.
 *
 * Spec: [MS-VHDX] 2.4 (Blocks), 2.5.1.1 (Payload BAT Entry States). NOT_PRESENT, UNDEFINED,
 * ZERO and UNMAPPED read as zeros (each is allowed to by the spec); FULLY_PRESENT reads the
 * block at FileOffsetMB; PARTIALLY_PRESENT is only valid in a differencing disk, which the
 * decoder refuses before building this source.
 *
 * Reads go through readExtentsInto rather than the shared MappedSource: blocks that sit next to
 * each other in the file are fetched in one read even when virtual holes separate them, and
 * straight into the result when they are back to back in both the file and the result.
 */
import { checkRange, type BlockSource, type SourceStats } from '../../index.ts';
import { unfilledBytes } from '../../range.ts';
import { view } from '../../../util/bytes.ts';
import { CorruptError } from '../../../util/errors.ts';
import { MiB } from '../../../util/units.ts';
import { readExtentsInto, type FileExtent, type TargetExtent } from '../vhd/extents.ts';
import { batEntry, payloadEntryIndex, PAYLOAD_STATE } from './bat.ts';
import { VHDX_HEADER_SECTION_BYTES } from './header.ts';

export interface VhdxLayout {
  virtualSize: number;
  blockSize: number;
  logicalSectorSize: number;
  chunkRatio: number;
  /** The BAT entries needed for `virtualSize`, already bounded by the caller. */
  bat: Uint8Array;
}

interface Segment {
  dest: number;
  length: number;
  /** Index of the extent holding this segment's bytes, or -1 for zeros. */
  extent: number;
}

export class VhdxSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #file: BlockSource;
  readonly #blockSize: number;
  readonly #chunkRatio: number;
  readonly #bat: DataView;
  readonly #entries: number;

  constructor(file: BlockSource, layout: VhdxLayout) {
    this.#file = file;
    this.size = layout.virtualSize;
    this.sectorSize = layout.logicalSectorSize;
    this.#blockSize = layout.blockSize;
    this.#chunkRatio = layout.chunkRatio;
    this.#bat = view(layout.bat);
    this.#entries = layout.bat.length / 8;
    this.description = `vhdx over ${file.description}`;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    if (length === 0) return new Uint8Array(0);
    const { segments, extents } = this.#plan(offset, length);
    // Every block present and stored back to back: the file's bytes are the answer, uncopied.
    if (extents.length === segments.length && extents.every((e, i) => i === 0 || e.offset === extents[i - 1]!.offset + extents[i - 1]!.length)) {
      return this.#file.read(extents[0]!.offset, length);
    }
    // #fill writes every byte (zeros for absent blocks).
    const out = unfilledBytes(length);
    await this.#fill(segments, extents, out, true);
    return out;
  }

  /** As read, into the caller's buffer: present blocks are read straight into it. */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    checkRange(this.size, offset, target.length, this.description);
    if (target.length === 0) return;
    const { segments, extents } = this.#plan(offset, target.length);
    await this.#fill(segments, extents, target, true);
  }

  #plan(offset: number, length: number): { segments: Segment[]; extents: FileExtent[] } {
    const extents: FileExtent[] = [];
    const segments: Segment[] = [];
    const end = offset + length;
    for (let pos = offset; pos < end; ) {
      const block = Math.floor(pos / this.#blockSize);
      const inBlock = pos - block * this.#blockSize;
      const n = Math.min(this.#blockSize - inBlock, end - pos);
      const fileOffset = this.#locate(block);
      const seg: Segment = { dest: pos - offset, length: n, extent: -1 };
      if (fileOffset !== undefined) seg.extent = extents.push({ offset: fileOffset + inBlock, length: n }) - 1;
      segments.push(seg);
      pos += n;
    }
    return { segments, extents };
  }

  /** Reads the present segments into their places in `out`; `zeroFill` when `out` may hold old bytes. */
  async #fill(segments: readonly Segment[], extents: readonly FileExtent[], out: Uint8Array, zeroFill: boolean): Promise<void> {
    const targets: TargetExtent[] = [];
    for (const seg of segments) {
      if (seg.extent >= 0) targets.push({ ...extents[seg.extent]!, target: out.subarray(seg.dest, seg.dest + seg.length) });
      else if (zeroFill) out.fill(0, seg.dest, seg.dest + seg.length);
    }
    await readExtentsInto(this.#file, targets);
  }

  /** File offset of a payload block, or undefined when the block reads as zeros. */
  #locate(block: number): number | undefined {
    const index = payloadEntryIndex(block, this.#chunkRatio);
    if (index >= this.#entries) return undefined;
    const { state, fileOffsetMB } = batEntry(this.#bat, index);
    const location = `VHDX BAT entry ${index} (payload block ${block})`;
    switch (state) {
      case PAYLOAD_STATE.notPresent:
      case PAYLOAD_STATE.undefined:
      case PAYLOAD_STATE.zero:
      case PAYLOAD_STATE.unmapped:
        return undefined;
      case PAYLOAD_STATE.fullyPresent: {
        const fileOffset = fileOffsetMB * MiB;
        const blockEnd = fileOffset + Math.min(this.#blockSize, this.size - block * this.#blockSize);
        if (fileOffset < VHDX_HEADER_SECTION_BYTES || blockEnd > this.#file.size) {
          throw new CorruptError(
            `VHDX payload block ${block} at file offset ${fileOffset} lies outside the ${this.#file.size}-byte file`,
            { location },
          );
        }
        return fileOffset;
      }
      case PAYLOAD_STATE.partiallyPresent:
        throw new CorruptError(`VHDX payload block ${block} is PARTIALLY_PRESENT, which only a differencing disk may use`, { location });
      default:
        throw new CorruptError(`VHDX payload block ${block} has reserved state ${state}`, { location });
    }
  }

  stats(): SourceStats {
    return this.#file.stats();
  }

  /** The decoder does not own the file it reads; whoever opened the file closes it. */
  async close(): Promise<void> {}
}
