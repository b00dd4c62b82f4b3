/**
 * The filesystem probe list. Each driver's `open` throws NotThisFormatError when the volume is
 * not its format, so the list is tried in order; any other error stops with that error.
 */
import type { BlockSource } from '../disk/index.ts';
import { NotThisFormatError } from '../util/errors.ts';
import { openBtrfs } from './btrfs/index.ts';
import { openExt4 } from './ext4/index.ts';
import type { PathFileSystem } from './path-fs.ts';
import { openXfs } from './xfs/index.ts';

export interface FsDriver {
  readonly id: 'ext4' | 'xfs' | 'btrfs';
  open(source: BlockSource): Promise<PathFileSystem>;
}

export const FS_DRIVERS: readonly FsDriver[] = [
  { id: 'ext4', open: openExt4 },
  { id: 'xfs', open: openXfs },
  { id: 'btrfs', open: openBtrfs },
];

/** Opens the filesystem on a volume by probing every driver. */
export async function openFilesystem(source: BlockSource): Promise<PathFileSystem> {
  for (const driver of FS_DRIVERS) {
    try {
      return await driver.open(source);
    } catch (err) {
      if (err instanceof NotThisFormatError) continue;
      throw err;
    }
  }
  throw new NotThisFormatError(`no supported filesystem on ${source.description}`);
}
