/**
 * npm run bench — runs each benchmark script in bench/ as its own child process, one after the
 * other (so that one's heap, caches and threads never disturb the next one's figures), and
 * prints one combined, docs-ready markdown report on stdout; progress goes to stderr.
 *
 * Every `bench/*.ts` is a benchmark script except this runner and the helpers in HELPERS. They
 * run in the order of ORDER: startup.ts — the CLI's start-up, issue #17; then the data flow (disk.ts — container decoders and the HTTP range
 * source, issue #2; fs.ts — filesystem walk, reading every file, peak RSS, issue #3; then
 * inventory, vulnerability database and malware, each when present; security.ts — the Findings
 * list and the CVE pane over a million findings, issue #13; fleet.ts — 100 nodes on the control plane, issue #11;
 * cloud.ts — an inventory read through Azurite and EBS direct against the local file, issue #12), any other
 * script after them in name order.
 *
 * Every figure is a ratio against a reference measured in the same run by the same script.
 * `node bench/run.ts disk fs` runs only the named scripts. Not a test: nothing here asserts.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { enableCompileCache } from '../bin/compile-cache.js';

/** Scripts in bench/ that are not benchmarks (this runner, servers and helpers they spawn). */
const HELPERS = new Set(['run', 'http-server']);
/** Start-up of the CLI first (issue #17), then the data flow: disk → fs → inventory → vulnerability matching → malware. */
const ORDER = ['startup', 'disk', 'fs', 'inventory', 'vulndb', 'malware', 'security', 'fleet', 'scale', 'cloud', 'api'];

function benchScripts(): string[] {
  const names = readdirSync(import.meta.dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -'.ts'.length))
    .filter((n) => !HELPERS.has(n));
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return names.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function runScript(path: string): Promise<{ code: number; stdout: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, seconds: (performance.now() - t0) / 1000 }));
  });
}

async function main(): Promise<void> {
  // Every script and the children it spawns load the scanner's modules as the CLI does, through
  // the compile cache (bin/compile-cache.js; without it each process pays ~35 MiB for type stripping).
  process.env.HULLSCAN_COMPILE_CACHE ??= join(import.meta.dirname, '..', '.cache', 'node-compile-cache');
  enableCompileCache();
  const scripts = benchScripts();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !scripts.includes(w));
  if (unknown.length > 0) throw new Error(`unknown bench script(s): ${unknown.join(', ')} (one of ${scripts.join(', ')})`);
  const selected = scripts.filter((s) => wanted.length === 0 || wanted.includes(s));
  const load = loadavg().map((l) => l.toFixed(2)).join(', ');
  const sections: string[] = [
    '## Benchmark run',
    '',
    `${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `load average at start ${load}. Each script ran as its own process, in sequence.`,
  ];
  let failed = 0;
  for (const name of selected) {
    const path = join(import.meta.dirname, `${name}.ts`);
    process.stderr.write(`[bench] running ${name}.ts\n`);
    const r = await runScript(path);
    process.stderr.write(`[bench] ${name}.ts finished in ${r.seconds.toFixed(0)} s (exit ${r.code})\n`);
    sections.push('', r.stdout.trimEnd());
    if (r.code !== 0) {
      failed++;
      sections.push('', `**${name}.ts failed (exit ${r.code}); its figures above are incomplete.**`);
    }
  }
  sections.push('', `Load average at end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}.`);
  process.stdout.write(`${sections.join('\n')}\n`);
  if (failed > 0) process.exitCode = 1;
}

await main();
