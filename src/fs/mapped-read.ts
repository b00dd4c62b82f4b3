/**
 * Reading a regular file straight from its physical layout (ext4, XFS map their files): the
 * malware walk reads large files this way into its workers' transfer buffers, bypassing the
 * driver's per-read allocation. Here in fs/ because it is the FileSystem's layout and the
 * BlockSource under it (disk/), which the layers above fs/ do not touch.
 */
import { readInto, type BlockSource } from '../disk/index.ts';
import { HullscanError } from '../util/errors.ts';
import type { FileExtent, FileSystem, InodeId } from './index.ts';
import { PathFileSystem } from './path-fs.ts';
import { checkLayout } from './sweep.ts';

/** A regular file's physical layout and the source it refers to, for mappedChunks. */
export interface MappedFile {
  layout: FileExtent[];
  source: BlockSource;
}

/**
 * The layout of a file larger than one read, when its driver maps files (ext4, XFS) and the
 * layout checks out against the file's size and the volume. Undefined otherwise (inline,
 * encrypted, compressed, btrfs, an inconsistent map): the file is then read through the driver,
 * which reports why it cannot when it cannot.
 */
export async function mapForRead(fs: FileSystem, ino: InodeId, path: string, size: number): Promise<MappedFile | undefined> {
  if (!(fs instanceof PathFileSystem) || !fs.reader.mapFile || !fs.reader.dataSource) return undefined;
  const source = fs.reader.dataSource;
  try {
    const layout = await fs.reader.mapFile(ino);
    if (layout === undefined) return undefined;
    checkLayout({ path, ino, size }, layout, source.size);
    return { layout, source };
  } catch (err) {
    if (!(err instanceof HullscanError)) throw err; // a bug, not the image
    return undefined;
  }
}

/**
 * A mapped file's bytes in chunks of `chunkBytes`, each read straight into a buffer from `take`
 * (a worker's transfer buffer): no reader allocation and no copy per chunk, where the driver's
 * read returns a fresh array that is then copied into a transfer buffer and left to the
 * collector (~290 MB of large files on the node disk). Zero pieces (holes) are zero-filled.
 */
export async function* mappedChunks(m: MappedFile, size: number, chunkBytes: number, take: () => Uint8Array<ArrayBuffer>): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  let piece = 0;
  for (let off = 0; off < size; off += chunkBytes) {
    const n = Math.min(chunkBytes, size - off);
    const chunk = take().subarray(0, n);
    const end = off + n;
    while (m.layout[piece]!.fileOffset + m.layout[piece]!.length <= off) piece++;
    for (let i = piece; i < m.layout.length && m.layout[i]!.fileOffset < end; i++) {
      const p = m.layout[i]!;
      const s = Math.max(p.fileOffset, off);
      const e = Math.min(p.fileOffset + p.length, end);
      const target = chunk.subarray(s - off, e - off);
      if (p.kind === 'data') await readInto(m.source, p.sourceOffset! + (s - p.fileOffset), target);
      else target.fill(0);
    }
    yield chunk;
  }
}
