import type { BlockSource } from '../index.ts';
import type { ContainerDecoder, DiskContainer } from './types.ts';

/** A raw image: the bytes are the disk. The probe list's last resort; it always accepts. */
export const rawDecoder: ContainerDecoder = {
  id: 'raw',
  async probe(source: BlockSource): Promise<DiskContainer> {
    return { format: 'raw', source, details: {}, issues: [] };
  },
};
