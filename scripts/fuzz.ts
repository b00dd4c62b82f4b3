/**
 * Long fuzz runs: every test file that uses the seeded mutation fuzzer (test/helpers/fuzz.ts),
 * with FUZZ_CASES raised (default 20000 per fuzz test) and an optional FUZZ_SEED offset so that
 * successive long runs explore new cases. A failure prints the seed that reproduces it.
 *
 *   npm run fuzz                      # 20000 cases per fuzz test
 *   FUZZ_CASES=100000 npm run fuzz -- test/disk/qcow2.test.ts
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.ts') && readFileSync(p, 'utf8').includes('helpers/fuzz.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles(join(root, 'test'));
const env: NodeJS.ProcessEnv = { ...process.env, FUZZ_CASES: process.env['FUZZ_CASES'] ?? '20000' };
console.log(`fuzz: ${files.length} files, FUZZ_CASES=${env.FUZZ_CASES}${env['FUZZ_SEED'] ? `, FUZZ_SEED=${env['FUZZ_SEED']}` : ''}`);
const r = spawnSync(process.execPath, ['--test', '--test-timeout=0', ...files], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
