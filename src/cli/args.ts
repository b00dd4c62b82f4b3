/**
 * What every command shares: option parsing whose mistakes are UsageErrors (exit 2, one line),
 * the options of commands that read a target, and the typed sentences for files that are not
 * there. Kept free of engine imports: main.ts loads this before it knows the command.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SourceError, UsageError } from '../util/errors.ts';
import { isUrl } from '../util/url-policy.ts';

/** The streams a command writes to. */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  /** Whether stderr is a terminal (progress is shown only then). */
  isTty: boolean;
}

/**
 * A command line of the wrong shape (unknown command or option, a missing value, the wrong
 * number of arguments): main prints the command's usage under its one line.
 */
export class ArgumentError extends UsageError {}

/** node:util parseArgs, with its TypeErrors turned into one-line ArgumentErrors. */
export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw usageFromParseArgs(err);
  }
}

/** parseArgs' error codes (ERR_PARSE_ARGS_*) → a short ArgumentError; anything else unchanged. */
export function usageFromParseArgs(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return err;
  const message = (err as Error).message;
  const unknown = /^Unknown option '([^']*)'/.exec(message);
  if (unknown) return new ArgumentError(`unknown option '${unknown[1]}'`, { cause: err });
  // "Option '--format <value>' argument missing", "Option '--hash' does not take an argument", …
  const first = message.split(/\.\s/)[0]!.replace(/\.$/, '');
  return new ArgumentError(first.charAt(0).toLowerCase() + first.slice(1), { cause: err });
}

/** The flag that lets a target URL be http:// or a loopback / private address. */
export const ALLOW_PRIVATE_URLS_SPEC = { 'allow-private-urls': { type: 'boolean', default: false } } as const;

export const ALLOW_PRIVATE_URLS_HELP = `      --allow-private-urls  Allow http:// and loopback / private addresses for a URL target
                            (labs, tests, internal mirrors). Cloud metadata addresses stay refused.`;

/** HTTP options for a target opened by the command (scan/target.ts TargetOptions.http). */
export function targetHttpOptions(allowPrivateUrls: boolean): { http: { allowHttp: boolean; allowPrivateNetwork: boolean } } | Record<string, never> {
  return allowPrivateUrls ? { http: { allowHttp: true, allowPrivateNetwork: true } } : {};
}


/** A local target that is not there: one sentence naming it, before any layer opens it. */
export async function assertTargetExists(spec: string): Promise<void> {
  if (isUrl(spec)) return;
  try {
    await stat(spec);
  } catch (err) {
    throw new SourceError(`cannot read target '${spec}': ${errnoSentence(err)}`, { cause: err });
  }
}

/** "no such file or directory", "permission denied", …: the errno without Node's decoration. */
export function errnoSentence(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'the filesystem is read-only';
    default:
      return typeof code === 'string' ? code : ((err as Error)?.message ?? String(err));
  }
}

/** Errors of an output path the user chose (exit 2); others (a full disk) are I/O errors (exit 3). */
const OUTPUT_PATH_ERRNOS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS']);

/** Wraps a failed write of an output file into one sentence naming the file (and a missing directory). */
export async function outputError(path: string, err: unknown): Promise<UsageError | SourceError> {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') {
    const dir = dirname(path);
    const missing = await stat(dir).then(
      () => false,
      () => true,
    );
    if (missing) return new UsageError(`cannot write '${path}': the directory '${dir}' does not exist`, { cause: err });
  }
  const message = `cannot write '${path}': ${errnoSentence(err)}`;
  return typeof code === 'string' && OUTPUT_PATH_ERRNOS.has(code) ? new UsageError(message, { cause: err }) : new SourceError(message, { cause: err });
}

/**
 * Writes `text` to `path`, errors as one sentence. `atomic`: written beside it, then renamed,
 * so a failed write never leaves half a document (not for /dev/stdout and other special files).
 */
export async function writeOutputFile(path: string, text: string, options: { atomic?: boolean } = {}): Promise<void> {
  if (path === '') throw new UsageError('--output needs a file name');
  if (options.atomic !== true) {
    await writeFile(path, text).catch(async (err: unknown) => {
      throw await outputError(path, err);
    });
    return;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw await outputError(path, err);
  }
}
