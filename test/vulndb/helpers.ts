/**
 * Shared helpers for the vulndb tests: temp directories and the real feed slices in
 * test/data/vulndb/ (see its README for origin).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const DATA = new URL('../data/vulndb/', import.meta.url).pathname;

export const SLICES = {
  debian: join(DATA, 'debian-12.osv.jsonl.gz'),
  ubuntu: join(DATA, 'ubuntu-22.04.osv.jsonl'),
  ubuntuSamples: join(DATA, 'ubuntu-osv-samples.jsonl'),
  alpine: join(DATA, 'alpine-v3.21.osv.all.zip'),
  oval: join(DATA, 'azurelinux-3.0-oval.xml.gz'),
  kev: join(DATA, 'known_exploited_vulnerabilities.json'),
  epss: join(DATA, 'epss_scores-2026-08-16.csv.gz'),
  secdb: join(DATA, 'v3.21-main.json.gz'),
  secdbEdge: join(DATA, 'vedge-community.json.gz'),
  uct: join(DATA, 'uct-jammy.sample.jsonl'),
  /** The matcher accuracy slice of UCT (fields cut to what matching reads; test/data/match/README.md). */
  uctSlice: new URL('../data/match/uct-jammy.slice.jsonl.gz', import.meta.url).pathname,
} as const;

/** A temp directory removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'hullscan-vulndb-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
