/**
 * Start-up benchmark (issue #17, "Start-up time"), run as its own process by bench/run.ts. Each
 * figure is a ratio against a reference measured in the same run, in paired passes (the
 * reference, then the command, back to back; the ratio is the median of the per-pair ratios,
 * which other jobs on a shared machine disturb far less than either figure alone):
 *  - `hullscan --help` against `node -e 0` (Node's own start-up): target ≤ 2×;
 *  - `hullscan disk inspect` and `hullscan inventory --help` (a command's module loaded) against the same;
 *  - a one-shot `hullscan sbom` of the GPT/ext4 Debian node disk (raw) against the floor:
 *    `node -e 0` plus one `debugfs` reading the dpkg status file from the same image (the
 *    process start-up and the one file an SBOM cannot do without): target ≤ 3×.
 * Every command runs through bin/hullscan.js as a user runs it, with the compile cache warm
 * (an untimed run first). The first match of 1,000 packages in a fresh process is measured by
 * bench/vulndb.ts ("cold" match). Prints a markdown section on stdout, progress on stderr.
 * Not a test: nothing here asserts.
 */
import { spawnSync } from 'node:child_process';
import { openDisk } from '../src/scan/target.ts';
import { nodeDisk } from '../test/fixtures/node-image.ts';

const PAIRS = 15;
const BIN = new URL('../bin/hullscan.js', import.meta.url).pathname;
const NODE = process.execPath;

function say(s: string): void {
  process.stdout.write(`${s}\n`);
}

/** Wall time of one child process, ms; throws when it fails. */
function timeOnce(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().slice(0, 300)}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface Pairs {
  ref: number[];
  cmd: number[];
  ratios: number[];
}

/** PAIRS paired passes of `ref` (a list of commands whose times add up) and `cmd`. */
function paired(ref: [string, string[]][], cmd: [string, string[]]): Pairs {
  for (const [c, a] of [...ref, cmd]) timeOnce(c, a); // warm the page cache and the compile cache
  const out: Pairs = { ref: [], cmd: [], ratios: [] };
  for (let i = 0; i < PAIRS; i++) {
    const r = ref.reduce((sum, [c, a]) => sum + timeOnce(c, a), 0);
    const m = timeOnce(cmd[0], cmd[1]);
    out.ref.push(r);
    out.cmd.push(m);
    out.ratios.push(m / r);
  }
  return out;
}

function row(name: string, p: Pairs, target: number | undefined): string {
  const ratio = median(p.ratios);
  const range = `${Math.min(...p.ratios).toFixed(2)}–${Math.max(...p.ratios).toFixed(2)}`;
  const verdict = target === undefined ? '—' : ratio <= target ? `met (≤ ${target}×)` : `not met (≤ ${target}×)`;
  return `| ${name} | ${median(p.cmd).toFixed(0)} | ${median(p.ref).toFixed(0)} | **${ratio.toFixed(2)}×** (${range}) | ${verdict} |`;
}

async function main(): Promise<void> {
  process.stderr.write('[startup] building or reusing the GPT/ext4 node disk\n');
  const disk = await nodeDisk('gpt-ext4');
  const opened = await openDisk(disk);
  let rootOffset: number;
  try {
    const root = opened.layout.volumes.find((v) => opened.filesystems.get(v.id)?.type === 'ext4');
    if (root === undefined) throw new Error(`${disk}: no ext4 volume`);
    rootOffset = root.offset;
  } finally {
    await opened.close();
  }
  const nodeStart: [string, string[]] = [NODE, ['-e', '0']];
  const debugfs: [string, string[]] = ['debugfs', ['-R', 'cat /var/lib/dpkg/status', `${disk}?offset=${rootOffset}`]];
  const hs = (...args: string[]): [string, string[]] => [NODE, [BIN, ...args]];

  process.stderr.write('[startup] --help\n');
  const help = paired([nodeStart], hs('--help'));
  const cmdHelp = paired([nodeStart], hs('inventory', '--help'));
  process.stderr.write('[startup] disk inspect\n');
  const inspect = paired([nodeStart], hs('disk', 'inspect', disk));
  process.stderr.write('[startup] sbom\n');
  const sbom = paired([nodeStart, debugfs], hs('sbom', disk));
  const floorParts = { node: median(paired([nodeStart], nodeStart).cmd), debugfs: median(Array.from({ length: 5 }, () => timeOnce(debugfs[0], debugfs[1]))) };

  say('### Start-up (issue #17)');
  say('');
  say(
    `Each command through \`bin/hullscan.js\` as a user runs it, compile cache warm; median of ${PAIRS} paired passes (reference, then command), ` +
      'the ratio the median of the per-pair ratios (range in brackets). Disk: the GPT/ext4 Debian node disk, raw.',
  );
  say('');
  say('| command | ms | reference ms | ratio | target |');
  say('| --- | --- | --- | --- | --- |');
  say(row('`hullscan --help` / `node -e 0`', help, 2));
  say(row('`hullscan inventory --help` / `node -e 0`', cmdHelp, undefined));
  say(row('`hullscan disk inspect` / `node -e 0`', inspect, undefined));
  say(row('`hullscan sbom` (one shot) / floor: `node -e 0` + `debugfs cat /var/lib/dpkg/status`', sbom, 3));
  say('');
  say(`Floor parts: \`node -e 0\` ${floorParts.node.toFixed(0)} ms, debugfs ${floorParts.debugfs.toFixed(0)} ms. The first match of 1,000 packages in a fresh process: bench/vulndb.ts ("cold").`);
}

await main();
