/**
 * The VHDX file as it reads after log replay, without writing to it: replayed 4 KiB sectors and
 * zeroed ranges laid over the file's own bytes, and the file extended (with zeros) to the size
 * the log requires. See [MS-VHDX] 2.3.3 and its note 5: a read-only opener replays in memory.
 */
import { checkRange, type BlockSource, type SourceStats } from '../../index.ts';

export const LOG_SECTOR_BYTES = 4096;

export interface ZeroRange {
  start: number;
  end: number;
}

export class ReplayOverlay {
  /** Replayed sectors by sector index (file offset / 4 KiB). Newer writes replace older ones. */
  readonly pages = new Map<number, Uint8Array>();
  /**
   * Zeroed ranges. A later data write inside one lands in `pages`, which are applied after the
   * zero ranges; a zero write removes the pages it covers, so order is kept.
   */
  readonly zeros: ZeroRange[] = [];
  /** Smallest file size the replayed log requires. */
  minFileSize = 0;

  writeSector(fileOffset: number, data: Uint8Array): void {
    this.pages.set(fileOffset / LOG_SECTOR_BYTES, data);
    this.minFileSize = Math.max(this.minFileSize, fileOffset + LOG_SECTOR_BYTES);
  }

  writeZeros(fileOffset: number, length: number): void {
    if (length === 0) return;
    const first = fileOffset / LOG_SECTOR_BYTES;
    const count = length / LOG_SECTOR_BYTES;
    if (count < this.pages.size) {
      for (let i = 0; i < count; i++) this.pages.delete(first + i);
    } else {
      for (const k of [...this.pages.keys()]) if (k >= first && k < first + count) this.pages.delete(k);
    }
    this.zeros.push({ start: fileOffset, end: fileOffset + length });
    this.minFileSize = Math.max(this.minFileSize, fileOffset + length);
  }
}

export class OverlaySource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #inner: BlockSource;
  readonly #overlay: ReplayOverlay;

  constructor(inner: BlockSource, overlay: ReplayOverlay, size: number) {
    this.#inner = inner;
    this.#overlay = overlay;
    this.size = Math.max(size, inner.size);
    this.sectorSize = inner.sectorSize;
    this.description = `${inner.description} (log replayed)`;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    const end = offset + length;
    const touched = this.#overlay.zeros.some((z) => z.start < end && z.end > offset) || this.#hasPage(offset, end);
    if (!touched && end <= this.#inner.size) return this.#inner.read(offset, length);

    const out = new Uint8Array(length);
    const innerEnd = Math.min(end, this.#inner.size);
    if (innerEnd > offset) out.set(await this.#inner.read(offset, innerEnd - offset), 0);
    for (const z of this.#overlay.zeros) {
      const s = Math.max(z.start, offset);
      const e = Math.min(z.end, end);
      if (s < e) out.fill(0, s - offset, e - offset);
    }
    const first = Math.floor(offset / LOG_SECTOR_BYTES);
    const last = Math.floor((end - 1) / LOG_SECTOR_BYTES);
    for (const [k, page] of this.#pagesIn(first, last)) {
      const pageStart = k * LOG_SECTOR_BYTES;
      const s = Math.max(pageStart, offset);
      const e = Math.min(pageStart + LOG_SECTOR_BYTES, end);
      out.set(page.subarray(s - pageStart, e - pageStart), s - offset);
    }
    return out;
  }

  #hasPage(offset: number, end: number): boolean {
    return this.#pagesIn(Math.floor(offset / LOG_SECTOR_BYTES), Math.floor((end - 1) / LOG_SECTOR_BYTES)).length > 0;
  }

  /** Pages with index in [first, last]: walks whichever is smaller, the range or the map. */
  #pagesIn(first: number, last: number): Array<[number, Uint8Array]> {
    const pages = this.#overlay.pages;
    const found: Array<[number, Uint8Array]> = [];
    if (last - first + 1 <= pages.size) {
      for (let k = first; k <= last; k++) {
        const p = pages.get(k);
        if (p) found.push([k, p]);
      }
    } else {
      for (const [k, p] of pages) if (k >= first && k <= last) found.push([k, p]);
    }
    return found;
  }

  stats(): SourceStats {
    return this.#inner.stats();
  }

  async close(): Promise<void> {}
}
