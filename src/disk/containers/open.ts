import { HullscanError, NotThisFormatError } from '../../util/errors.ts';
import type { BlockSource } from '../index.ts';
import { CONTAINER_DECODERS } from './registry.ts';
import type { DiskContainer, ProbeContext } from './types.ts';

/**
 * Decodes a disk container by content (never by file name): each decoder in the probe list is
 * tried in order; "not mine" moves on, any other error stops with that error.
 */
export async function openContainer(source: BlockSource, context: ProbeContext = {}): Promise<DiskContainer> {
  for (const decoder of CONTAINER_DECODERS) {
    try {
      return await decoder.probe(source, context);
    } catch (err) {
      if (err instanceof NotThisFormatError) continue;
      if (err instanceof HullscanError) throw err;
      throw new HullscanError(`${decoder.id}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new NotThisFormatError(`no container decoder accepted ${source.description}`);
}
