/**
 * Who owns a claim or a lease: `host:pid:start`. On the owner's own host, a dead pid means a
 * crashed owner whose node scans can be re-queued and whose snapshots swept at once, without
 * waiting for heartbeats or leases to run out.
 */
import { hostname } from 'node:os';

export function ownerId(): string {
  return `${hostname()}:${process.pid}:${Date.now() - Math.round(process.uptime() * 1000)}`;
}

/** True only when the owner is known dead: same host, and no process with its pid. */
export function ownerIsDead(owner: string, self: string): boolean {
  if (owner === self) return false;
  const [host, pidText] = owner.split(':');
  if (host !== hostname()) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true; // this pid, another start: an earlier incarnation of us
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
