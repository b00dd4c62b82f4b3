// Node's module compile cache (module.enableCompileCache, Node >= 22.1) also keeps the
// type-stripped output of our .ts modules (Node >= 23.9). On a cache hit neither the parser nor
// amaro, Node's type stripper, runs; amaro is a WebAssembly module whose memory only grows,
// and loading the scanner's ~50 modules through it costs ~35 MiB of RSS in every thread that
// loads them (the main thread and each malware worker). Measured: 92 → 56 MiB for the
// filesystem modules alone, 136 → 87 MiB for a process with two workers.
//
// The cache is per user (not the shared os.tmpdir() default: whoever can write the cache can
// change the code that runs). Node checks each entry against the source's hash, so an edited
// file is never served stale. NODE_DISABLE_COMPILE_CACHE=1 turns it off; HULLSCAN_COMPILE_CACHE
// (or NODE_COMPILE_CACHE) picks the directory.
import { mkdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';

/**
 * Creates `dir` one component at a time (0700); false when it cannot be made a directory. Not
 * mkdirSync's recursive mode, which Node's compile cache also uses: under /proc a missing child
 * of an existing directory answers ENOENT, and the recursive mode then retries forever (seen
 * with Node 24.21: `mkdirSync('/proc/1/x', { recursive: true })` never returns).
 */
function makeDirectory(dir) {
  const parts = resolve(dir).split(sep).filter(Boolean);
  let path = '';
  for (const part of parts) {
    path += sep + part;
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (err) {
      if (err?.code !== 'EEXIST') return false;
    }
  }
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * $XDG_CACHE_HOME/hullscan/node-compile-cache, or ~/.cache/…; undefined without an absolute base.
 * The XDG base directory spec: an empty or relative XDG_CACHE_HOME is ignored.
 */
function defaultCacheDir() {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  return isAbsolute(base) ? join(base, 'hullscan', 'node-compile-cache') : undefined;
}

/** Enables the compile cache for this process and, through the environment, its worker threads and children. */
export function enableCompileCache() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE || typeof module.enableCompileCache !== 'function') return undefined;
  const chosen = process.env.HULLSCAN_COMPILE_CACHE || process.env.NODE_COMPILE_CACHE || defaultCacheDir();
  if (!chosen) return undefined;
  const dir = resolve(chosen);
  // A directory that cannot be made leaves the cache off: the CLI works without it.
  if (!makeDirectory(dir)) return undefined;
  const result = module.enableCompileCache(dir);
  // Worker threads and child processes enable it from the variable (the call covers this thread only).
  if (result.directory) process.env.NODE_COMPILE_CACHE = result.directory;
  return result.directory;
}
