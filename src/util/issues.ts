/**
 * A located issue: something a layer could not read, reported as data so that it reaches the
 * scan's coverage report instead of being logged and skipped.
 */
export interface Issue {
  severity: 'error' | 'warning' | 'info';
  /** Stable machine-readable code, e.g. "lvm.thin-unsupported", "gpt.primary-header-crc". */
  code: string;
  message: string;
  /** Where: "volume p2", "lvm vg0/thin1", "/var/lib/dpkg/status:120". */
  location?: string;
}

export function issueFromError(err: unknown, code: string, location?: string): Issue {
  const message = err instanceof Error ? err.message : String(err);
  return location === undefined ? { severity: 'error', code, message } : { severity: 'error', code, message, location };
}
/** " (location)" after an issue's message, unless the message already names it. */
export function issueLocation(issue: { message: string; location?: string | undefined }): string {
  return issue.location !== undefined && issue.location !== '' && !issue.message.includes(issue.location) ? ` (${issue.location})` : '';
}
