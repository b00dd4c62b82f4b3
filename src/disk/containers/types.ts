import type { Issue } from '../../util/issues.ts';
import type { BlockSource } from '../index.ts';

export const CONTAINER_FORMATS = ['raw', 'vhd-fixed', 'vhd-dynamic', 'vhdx', 'vmdk-sparse', 'vmdk-stream', 'vmdk-flat', 'qcow2'] as const;
export type ContainerFormat = (typeof CONTAINER_FORMATS)[number];

/** A decoded disk container: the virtual disk as a BlockSource plus what we learned of it. */
export interface DiskContainer {
  format: ContainerFormat;
  /** The virtual disk, decoded (itself a BlockSource). */
  source: BlockSource;
  /** Format facts worth showing: version, cluster size, compression, subformat. */
  details: Record<string, string | number | boolean>;
  /** Non-fatal findings, e.g. "VHDX log is not empty and was replayed". */
  issues: Issue[];
}

export interface ProbeContext {
  /**
   * Opens a file that sits beside the container (VMDK flat extents). Implementations only allow
   * a plain file name in the same directory or URL path; anything else is refused.
   */
  openSibling?: (name: string) => Promise<BlockSource>;
}

/**
 * A container decoder. `probe` throws NotThisFormatError when the bytes are not this format,
 * and CorruptError / UnsupportedError when they are but cannot be decoded.
 */
export interface ContainerDecoder {
  readonly id: string;
  probe(source: BlockSource, context: ProbeContext): Promise<DiskContainer>;
}
