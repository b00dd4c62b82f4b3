/**
 * Inventory of a target: open its filesystem (scan/target.ts) and run the analyzer registry over
 * it. Disk images, filesystem images, HTTPS URLs and directories all take this path, so the same
 * analyzers see the same files whatever the container.
 */
import { ANALYZERS } from '../analyze/registry.ts';
import type { Analyzer } from '../analyze/index.ts';
import { runAnalyzers } from '../analyze/run.ts';
import type { FileSystem } from '../fs/index.ts';
import { PathFileSystem } from '../fs/path-fs.ts';
import type { Inventory, NodeIdentity } from '../inventory/index.ts';
import { UsageError } from '../util/errors.ts';
import type { Issue } from '../util/issues.ts';
import { openTargetFilesystem, type TargetOptions } from './target.ts';

export interface InventoryOptions {
  node?: NodeIdentity;
  /** Default: the registry (analyze/registry.ts). */
  analyzers?: readonly Analyzer[];
  /** Issues found before (opening the target) to carry into the inventory. */
  issues?: Issue[];
  scannedAt?: Date;
}

/** Runs the analyzers over a filesystem a caller already opened (the malware scan reuses it). */
export async function inventoryFileSystem(fs: FileSystem, target: string, options: InventoryOptions = {}): Promise<Inventory> {
  if (!(fs instanceof PathFileSystem)) throw new UsageError(`inventory needs a walkable filesystem (a PathFileSystem), got ${fs.type}`);
  return runAnalyzers(fs, options.analyzers ?? ANALYZERS, {
    target,
    ...(options.node ? { node: options.node } : {}),
    ...(options.scannedAt ? { scannedAt: options.scannedAt } : {}),
    ...(options.issues ? { issues: options.issues } : {}),
  });
}

/**
 * Opens a target, inventories its root filesystem (or `volume`); the caller closes it when done
 * (the malware scan keeps reading the same filesystem). `open` carries HTTP and cache options.
 */
export async function inventoryTarget(
  spec: string,
  options: { volume?: string; node?: NodeIdentity; open?: TargetOptions; analyzers?: readonly Analyzer[]; scannedAt?: Date } = {},
): Promise<{ inventory: Inventory; close(): Promise<void> }> {
  const opened = await openTargetFilesystem(spec, { ...(options.open ?? {}), ...(options.volume !== undefined ? { volume: options.volume } : {}) });
  try {
    const shown = opened.disk?.target ?? spec;
    const inventory = await inventoryFileSystem(opened.fs, shown, { ...options, issues: [...opened.issues] });
    return { inventory, close: () => opened.close() };
  } catch (err) {
    await opened.close();
    throw err;
  }
}
