import { BudgetError, CorruptError, HullscanError, MissingDependencyError, NotThisFormatError, SourceError, UnsupportedError, UsageError } from '../util/errors.ts';
import { relaxableRefusal, UrlPolicyError } from '../util/url-policy.ts';
import { errnoSentence, usageFromParseArgs } from './args.ts';
import { FsPathError } from '../fs/errors.ts';

/** Exit codes: 0 success, 1 findings over the --exit-code threshold, 2 usage, 3 unreadable input, 4 internal. */
export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
export const EXIT_INPUT = 3;
export const EXIT_INTERNAL = 4;

/** Scrubs URL query strings (SAS signatures, presigned tokens) from text shown to users. */
export { redactSecrets as scrubSecrets } from '../util/redact.ts';

/** The CLI switch that relaxes the URL policy, added to refusals it would let through. */
function urlPolicyMessage(err: UrlPolicyError): string {
  const relaxable = relaxableRefusal(err.reason) && (err.reason !== 'scheme' || /^http:/i.test(err.message));
  if (!relaxable || err.message.includes('--allow-private-urls')) return err.message;
  return `${err.message} (labs, tests and internal mirrors: --allow-private-urls)`;
}

/** Maps an error to an exit code and a one-line message; the one place the CLI does so. */
export function describeError(err: unknown): { code: number; message: string } {
  err = usageFromParseArgs(err);
  if (err instanceof UrlPolicyError) return { code: EXIT_USAGE, message: urlPolicyMessage(err) };
  if (err instanceof UsageError) return { code: EXIT_USAGE, message: err.message };
  if (err instanceof FsPathError || err instanceof NotThisFormatError || err instanceof CorruptError || err instanceof UnsupportedError || err instanceof BudgetError || err instanceof SourceError || err instanceof MissingDependencyError) {
    const where = err.location && !err.message.includes(err.location) ? ` (at ${err.location})` : '';
    return { code: EXIT_INPUT, message: `${err.name}: ${err.message}${where}` };
  }
  if (err instanceof HullscanError) return { code: EXIT_INPUT, message: `${err.name}: ${err.message}` };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.syscall) {
    // Node's "ENOENT: no such file or directory, open 'x'" → "cannot open 'x': no such file or directory".
    const what = typeof e.path === 'string' ? ` '${e.path}'` : '';
    return { code: EXIT_INPUT, message: `cannot ${e.syscall}${what}: ${errnoSentence(e)}` };
  }
  return { code: EXIT_INTERNAL, message: `internal error: ${(err as Error)?.stack ?? String(err)}` };
}
