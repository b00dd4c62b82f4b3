/**
 * One error class per layer, each with `cause` kept. "Not this format" is its own class so that
 * probe lists can try the next candidate, while "this format, but broken" stops the probe with
 * a located, typed error.
 */
export interface HullscanErrorOptions {
  cause?: unknown;
  /** Where in the input the problem was found (byte offset, path, structure name). */
  location?: string;
}

export class HullscanError extends Error {
  readonly location: string | undefined;
  constructor(message: string, options: HullscanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.location = options.location;
  }
}

/** The input is not in this format: a probe should try the next candidate. */
export class NotThisFormatError extends HullscanError {}

/** The input is in this format but is corrupt, truncated or hostile. */
export class CorruptError extends HullscanError {}

/** The input is valid but uses a feature we do not read (named in the message). */
export class UnsupportedError extends HullscanError {}

/** A budget (bytes, entries, steps, time) was exhausted while reading hostile input. */
export class BudgetError extends HullscanError {}

/** A read from a source failed (I/O, network, out of range). */
export class SourceError extends HullscanError {}

/** A required external tool or optional dependency is missing. */
export class MissingDependencyError extends HullscanError {}

/** A user supplied a wrong argument or an unusable option. */
export class UsageError extends HullscanError {}
