/**
 * The unit and real-image test run (`npm run test:unit`): node --test over every test file,
 * with the spec reporter on stdout and scripts/test-skips.ts recording skips. At the end it
 * prints how many tests were skipped and why; with CI=true (or HULLSCAN_STRICT_SKIPS=1) any skip
 * outside ALLOWED_SKIPS fails the run, so suites whose prerequisites are missing cannot pass by
 * testing nothing. Arguments replace the default file glob (`node scripts/test-unit.ts test/fs/*.test.ts`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/**
 * Skips allowed in CI: the opt-in full-data tests, which need data sets kept outside the
 * repository (see each file's header). Keyed by test file, relative to the repository.
 */
export const ALLOWED_SKIPS: ReadonlyArray<{ file: string; why: string }> = [
  { file: 'test/match/accuracy-full.test.ts', why: 'opt-in: HULLSCAN_REAL_DATA (the full real-data snapshot)' },
  { file: 'test/vulndb/full-feeds.test.ts', why: 'opt-in: HULLSCAN_FULL_FEEDS (the full upstream feeds)' },
];
const DEFAULT_FILES = ['test/**/*.test.ts'];
const CONCURRENCY = 2;

interface Skip {
  file: string;
  name: string;
  reason: string;
}

function strict(): boolean {
  const on = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
  return on(process.env['CI']) || on(process.env['HULLSCAN_STRICT_SKIPS']);
}

async function main(): Promise<number> {
  const repo = join(import.meta.dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-skips-'));
  const skipsFile = join(dir, 'skips.jsonl');
  try {
    const files = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_FILES;
    const args = [
      '--test',
      `--test-concurrency=${CONCURRENCY}`,
      // The real services the tests share (PostgreSQL), started once per run: test/global-setup.ts.
      `--test-global-setup=${join(repo, 'test', 'global-setup.ts')}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(repo, 'scripts', 'test-skips.ts')}`,
      `--test-reporter-destination=${skipsFile}`,
      ...files,
    ];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: repo, stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    let skips: Skip[] = [];
    try {
      skips = readFileSync(skipsFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Skip);
    } catch {
      // no skip reporter output: node --test failed before running anything (its code says so)
    }
    const rel = (f: string): string => (f.startsWith('/') ? relative(repo, f) : f);
    const allowed = (s: Skip): boolean => ALLOWED_SKIPS.some((a) => a.file === rel(s.file));
    const unexpected = skips.filter((s) => !allowed(s));
    console.log(`\nskipped: ${skips.length} (${skips.length - unexpected.length} allowed, ${unexpected.length} not allowed)`);
    for (const s of skips) console.log(`  ${allowed(s) ? 'allowed ' : 'SKIPPED '} ${rel(s.file)} › ${s.name}${s.reason ? `: ${s.reason}` : ''}`);
    if (unexpected.length > 0 && strict()) {
      console.log(`\nFAIL: ${unexpected.length} test(s) skipped in CI outside the allow-list (scripts/test-unit.ts ALLOWED_SKIPS): a missing prerequisite must fail the run, not pass it.`);
      return code === 0 ? 1 : code;
    }
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
