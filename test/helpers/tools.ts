/** Helpers for tests that build real images with real tools (mkfs, sgdisk, qemu-img, lvm). */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Runs a tool, failing the test with its stderr when it exits non-zero. */
export async function run(cmd: string, args: string[], options: { cwd?: string; input?: string } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { cwd: options.cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/** Whether a command is on PATH (tests that need it skip with this reason otherwise). */
export function hasTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Reason to skip a test when a tool is missing, or false. */
export function needTools(...cmds: string[]): string | false {
  const missing = cmds.filter((c) => !hasTool(c));
  return missing.length ? `missing tools: ${missing.join(', ')} (bash .ci/run installs them)` : false;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'hullscan-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Where built fixtures are cached between local runs (HULLSCAN_FIXTURE_CACHE overrides). */
export function fixtureCacheDir(): string {
  const dir = resolve(process.env['HULLSCAN_FIXTURE_CACHE'] ?? join(import.meta.dirname, '..', '..', '.cache', 'fixtures'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Whether this process may use loop devices and device-mapper (root with /dev/loop-control). */
export function canUseLoopDevices(): string | false {
  if (process.getuid?.() !== 0) return 'LVM fixtures need root for loop devices';
  const r = spawnSync('losetup', ['-f'], { encoding: 'utf8' });
  if (r.status !== 0) return `no free loop device: ${r.stderr.trim()}`;
  return false;
}

/** A free TCP port on loopback, for a test service (PostgreSQL, Redis, Azurite) to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
