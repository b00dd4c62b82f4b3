/**
 * A real Azurite (npm `azurite`, the Azure Storage emulator Microsoft publishes) for the tests:
 * its blob service on a free loopback port over HTTPS (the tests' certificate), persisting to a
 * temporary directory, started by the test file that needs it and stopped after. The Azure
 * tests put snapshot VHDs in it as page blobs and hand the engine real SAS URLs, so the read path
 * is the production one byte for byte.
 *
 * Without it the tests that need it fail in CI (CI=true) and skip elsewhere, saying why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCertificate } from './tls.ts';
import { freePort } from './tools.ts';

/** Azurite's documented development account (a public, well-known key). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const START_TIMEOUT_MS = 30_000;

export interface RunningAzurite {
  /** https://127.0.0.1:PORT/devstoreaccount1 */
  url: string;
  port: number;
  ca: string;
  stop(): Promise<void>;
}


function ping(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: `/${AZURITE_ACCOUNT}?comp=list`, method: 'GET', ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Starts Azurite; once more on another port if the first exits at start (the free port found can be taken before Azurite binds it). */
export async function startAzurite(): Promise<RunningAzurite> {
  try {
    return await startAzuriteOnce();
  } catch (err) {
    if (!/it exited/.test((err as Error).message)) throw err;
    return startAzuriteOnce();
  }
}

async function startAzuriteOnce(): Promise<RunningAzurite> {
  const cert = testCertificate();
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-azurite-'));
  const port = await freePort();
  const bin = join(import.meta.dirname, '..', '..', 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  const child: ChildProcess = spawn(process.execPath, [bin, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir, '--cert', cert.certFile, '--key', cert.keyFile, '--silent', '--skipApiVersionCheck', '--loose', '--disableTelemetry'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let exited = false;
  let exit = '';
  child.on('exit', (code, signal) => {
    exited = true;
    exit = signal !== null ? `signal ${signal}` : `code ${String(code)}`;
  });
  const stop = async (): Promise<void> => {
    if (!exited) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await ping(port, cert.cert))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`azurite did not start on port ${port}${exited ? ` (it exited, ${exit})` : ''}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `https://127.0.0.1:${port}/${AZURITE_ACCOUNT}`, port, ca: cert.cert, stop };
}

/** Starts Azurite, or — outside CI — skips the test with the reason. In CI a failure to start fails. */
export async function azuriteOrSkip(t: { skip(message?: string): void }): Promise<RunningAzurite | undefined> {
  try {
    return await startAzurite();
  } catch (err) {
    if (process.env['CI'] === 'true') throw err;
    t.skip(`Azurite could not start: ${(err as Error).message}`);
    return undefined;
  }
}
