/**
 * What a filesystem fuzz case does with a mutated image: walk every directory it can reach
 * (iteratively, each directory inode once), look each name up, stat it, read the start of files
 * (with read and with readInto) and every link target, then read one path through PathFileSystem. Typed HullscanErrors are the
 * expected outcome of corrupt metadata and are swallowed per step; anything else (a TypeError,
 * a RangeError from an unchecked offset) escapes and fails the case.
 */
import type { InodeId } from '../../src/fs/index.ts';
import type { PathFileSystem } from '../../src/fs/path-fs.ts';
import { HullscanError } from '../../src/util/errors.ts';

export interface ExerciseOptions {
  /** Stop after this many directory entries. */
  maxEntries: number;
  /** Bytes read from the start of each regular file (and of `finalPath`). */
  readBytes: number;
  /** One path read through the path layer at the end (symlink resolution included). */
  finalPath: string;
}

async function guard(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof HullscanError)) throw err;
  }
}

/** Exercises every reader call on `fs`; returns the number of entries visited. */
export async function exerciseFileSystem(fs: PathFileSystem, options: ExerciseOptions): Promise<number> {
  const reader = fs.reader;
  const into = new Uint8Array(options.readBytes);
  const stack: InodeId[] = [reader.rootIno];
  const seen = new Set(stack);
  let entries = 0;
  while (stack.length > 0 && entries < options.maxEntries) {
    const dir = stack.pop()!;
    let list: Awaited<ReturnType<typeof reader.readdir>> = [];
    await guard(async () => (list = await reader.readdir(dir)));
    for (const e of list) {
      if (++entries > options.maxEntries) break;
      if (reader.lookup !== undefined) await guard(() => reader.lookup!(dir, e.name));
      await guard(async () => {
        const st = await reader.stat(e.ino);
        if (st.type === 'dir' && !seen.has(e.ino)) {
          seen.add(e.ino);
          stack.push(e.ino);
        }
        if (st.type === 'file') {
          await reader.read(e.ino, 0, Math.min(st.size, options.readBytes));
          // The caller's-buffer path, from an offset inside the file (a second block's worth).
          if (reader.readInto) await reader.readInto(e.ino, Math.min(st.size, 4096), into);
        }
        if (st.type === 'symlink') await reader.readlink(e.ino);
      });
    }
  }
  await guard(() => fs.readFile(options.finalPath, { maxBytes: options.readBytes }));
  return entries;
}
