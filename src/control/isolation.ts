/**
 * Node scans in child processes, so that one hostile disk cannot take a worker down: each slot
 * is a long-lived child (control/scan-child.ts: its own store connection, caches and vulnerability
 * database) with a heap limit (--max-old-space-size) and a wall-clock limit: a scan that has not
 * ended by its time budget plus a grace (a read blocked in the kernel, a parser spinning) has its
 * child killed with SIGKILL, and a child that dies (out of memory, a crash) is replaced. The
 * parent then ends the scan as failed (budget-exceeded, or internal-error with the exit status)
 * and deletes its snapshot. Children exit when their parent dies.
 */
import { fork, type ChildProcess } from 'node:child_process';
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import type { NodeScan } from '../store/index.ts';
import type { Logger } from './log.ts';
import type { ChildOptions, FromChild, ToChild } from './scan-child.ts';

/** Default heap of a scan child (MiB). */
export const DEFAULT_SCAN_MEMORY_MIB = 1024;
/** Past the scan's own time budget, the child gets this long to end it before it is killed. */
export const KILL_GRACE_MS = 5_000;
const CHILD = fileURLToPath(new URL('./scan-child.ts', import.meta.url));
const CHILD_START_TIMEOUT_MS = 120_000;

export interface IsolationOptions {
  memoryMib?: number;
}

export type IsolatedOutcome = { ended: true; transient?: { reason: string; message: string } } | { ended: false; reason: 'budget-exceeded' | 'internal-error'; detail: string; notStarted?: boolean };

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
}

export class IsolatedScans {
  readonly #options: ChildOptions;
  readonly #memoryMib: number;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #slots = new Set<Slot>();

  constructor(o: { child: ChildOptions; memoryMib?: number; timeBudgetMs: number; log: Logger }) {
    this.#options = o.child;
    this.#memoryMib = o.memoryMib ?? DEFAULT_SCAN_MEMORY_MIB;
    this.#timeoutMs = o.timeBudgetMs + KILL_GRACE_MS;
    this.#log = o.log;
  }

  #spawn(): Slot {
    const child = fork(CHILD, [], {
      execArgv: [...process.execArgv.filter((a) => !a.startsWith('--max-old-space-size')), `--max-old-space-size=${this.#memoryMib}`],
      // The parent's module compile cache (bin/compile-cache.js): a child starts without parsing or type-stripping again.
      env: { ...process.env, HULLSCAN_SCAN_CHILD: JSON.stringify(this.#options), ...(module.getCompileCacheDir?.() !== undefined && { NODE_COMPILE_CACHE: module.getCompileCacheDir() }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('the scan child did not start'))), CHILD_START_TIMEOUT_MS);
      child.on('message', (m: FromChild) => {
        if (m.type === 'ready') {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code, signal) => (clearTimeout(t), reject(new Error(`the scan child exited at start (${signal ?? code})`))));
    });
    ready.catch(() => undefined);
    const slot: Slot = { child, ready, busy: false };
    child.once('exit', () => this.#slots.delete(slot));
    this.#slots.add(slot);
    return slot;
  }

  /** Runs one claimed scan in a child; `worker` is the claim's owner. */
  async run(scan: NodeScan, worker: string, retry: boolean): Promise<IsolatedOutcome> {
    let slot = [...this.#slots].find((s) => !s.busy && s.child.exitCode === null && s.child.signalCode === null);
    slot ??= this.#spawn();
    slot.busy = true;
    try {
      await slot.ready;
      const child = slot.child;
      return await new Promise<IsolatedOutcome>((resolve) => {
        const onMessage = (m: FromChild) => {
          if (m.type === 'done' && m.id === scan.id) finish({ ended: true, ...(m.transient !== undefined && { transient: m.transient }) });
          if (m.type === 'error') finish({ ended: false, reason: 'internal-error', detail: `the scan process failed: ${m.message}` });
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          const oom = code === 134 || signal === 'SIGABRT';
          finish({ ended: false, reason: oom ? 'budget-exceeded' : 'internal-error', detail: oom ? `the scan process ran out of memory (heap limit ${this.#memoryMib} MiB)` : `the scan process stopped (${signal ?? `exit ${code}`})` });
        };
        const timer = setTimeout(() => {
          this.#log.warn({ nodeScan: scan.id, ms: this.#timeoutMs }, 'node scan did not end in its time budget: killing its process');
          child.off('exit', onExit);
          child.kill('SIGKILL');
          finish({ ended: false, reason: 'budget-exceeded', detail: `the node scan took longer than its time budget (${Math.round(this.#timeoutMs / 1000)} s with the grace) and its process was killed` });
        }, this.#timeoutMs);
        const finish = (o: IsolatedOutcome) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve(o);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ type: 'scan', scan, worker, retry } satisfies ToChild);
      });
    } catch (err) {
      // The child never started: nothing was read; not the disk's fault.
      return { ended: false, reason: 'internal-error', detail: String(err), notStarted: true };
    } finally {
      slot.busy = false;
    }
  }

  /** Stops every child (after the drain: none is busy). */
  close(): void {
    for (const s of this.#slots) s.child.kill('SIGTERM');
    this.#slots.clear();
  }
}
