/**
 * disk/ — random-access bytes. Central interface: {@link BlockSource}.
 *
 * Every layer of the disk stack consumes and produces a BlockSource: a local file or an HTTP
 * range source at the bottom, container decoders (raw, VHD, VHDX, VMDK, qcow2) on top of them,
 * then volumes (volume/) as windows of the decoded disk.
 */
export interface SourceStats {
  /** Read calls that reached the underlying medium (file or network). */
  reads: number;
  /** Bytes fetched from the underlying medium. */
  bytesRead: number;
  /** Of `reads`, those done on the calling thread (FileSource's page-cache path); absent elsewhere. */
  syncReads?: number;
}

export interface BlockSource {
  /** Size of the virtual byte range in bytes. */
  readonly size: number;
  /** Logical sector size in bytes (512 or 4096). */
  readonly sectorSize: number;
  /**
   * What this source is, for messages: "qcow2 over file disk.qcow2". Never contains a secret
   * (signed URLs are reduced to scheme, host and path).
   */
  readonly description: string;
  /**
   * Returns exactly `length` bytes at `offset`. Throws SourceError when the range is not inside
   * [0, size) and a typed error (CorruptError, UnsupportedError) when decoding fails.
   * The returned array may be shared with a cache: callers must not modify it.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional zero-copy form of `read`: fills all of `target` with the bytes at `offset`, so that
   * a layer assembling a larger result (a container decoder, a file read) reads straight into
   * its own buffer instead of copying each piece. Same range rules and errors as `read`.
   * Callers use {@link readInto}, which falls back to `read` plus a copy.
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  /** Counters of the medium below this source (shared by every layer stacked on it). */
  stats(): SourceStats;
  close(): Promise<void>;
}

/** Largest single read a caller may ask of a source; larger reads are split by callers. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

export { checkRange, readInto } from './range.ts';
