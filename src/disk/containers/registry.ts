/**
 * The container probe list, in order. Formats with a magic at offset 0 come first; VHD (whose
 * footer is at the end, and whose fixed form looks raw from the front) after them; raw last.
 */
import type { ContainerDecoder } from './types.ts';
import { qcow2Decoder } from './qcow2/index.ts';
import { rawDecoder } from './raw.ts';
import { vhdDecoder } from './vhd/index.ts';
import { vhdxDecoder } from './vhdx/index.ts';
import { vmdkDecoder } from './vmdk/index.ts';

export const CONTAINER_DECODERS: readonly ContainerDecoder[] = [
  qcow2Decoder,
  vhdxDecoder,
  vmdkDecoder,
  vhdDecoder,
  rawDecoder,
];
