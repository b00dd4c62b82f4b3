/** Small helpers of the API tests. */
import { ROLES, type Role } from '../../src/store/index.ts';
import { SecurityStore } from '../../src/store/security-store.ts';
import type { Fixture } from './fixture.ts';

export type { Fixture };

export function roleRankForTest(r: Role): number {
  return ROLES.indexOf(r);
}

/** Puts an alert back into a state (so that each role's review call starts from the same one). */
export async function setAlert(f: Fixture, id: string, status: 'active' | 'dismissed'): Promise<void> {
  const sec = new SecurityStore(f.cp.store.driver);
  const cur = await sec.getAlertStatus(id);
  if (cur?.status === status) return;
  await sec.setAlertStatus({ alertId: id, status, reason: 'test reset', by: 'test', at: new Date().toISOString() });
}
