/**
 * A node-scan child process (control/isolation.ts forks it): opens its own control plane on the
 * same store, vulnerability database and data directory, then runs the node scans its parent
 * sends, one at a time, as the parent's worker (the claim's owner). It exits when the parent
 * goes away (the IPC channel closes), so a killed worker leaves no scan running behind it.
 */
import type { NodeScan } from '../store/index.ts';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { createLogger } from './log.ts';

export type ChildOptions = Omit<ControlPlaneOptions, 'log' | 'now' | 'catalog' | 'isolate' | 'queue'>;
export type ToChild = { type: 'scan'; scan: NodeScan; worker: string; retry: boolean };
export type FromChild = { type: 'ready' } | { type: 'done'; id: string; transient?: { reason: string; message: string } } | { type: 'error'; message: string };

function send(m: FromChild): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  process.on('disconnect', () => process.exit(0));
  const options = JSON.parse(process.env['HULLSCAN_SCAN_CHILD'] ?? '{}') as ChildOptions;
  const cp = await ControlPlane.open({ ...options, log: createLogger() });
  await cp.loadConfig();
  process.on('message', (m: ToChild) => {
    if (m.type !== 'scan') return;
    void cp
      .runNodeScan(m.scan, m.worker, { interceptTransient: m.retry })
      .then((r) => send({ type: 'done', id: m.scan.id, ...(r.transient !== undefined && { transient: r.transient }) }))
      .catch((err: unknown) => send({ type: 'error', message: String(err) }));
  });
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`scan child: ${String(err)}\n`);
  process.exit(70);
});
