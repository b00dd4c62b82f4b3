/** The security service's errors: a request it cannot answer (unknown id, bad input). */
import { UsageError } from '../util/errors.ts';

/** A request the service refuses: the CLI maps it to exit 2, the API to 400 / 404. */
export class ServiceError extends UsageError {
  readonly kind: 'invalid' | 'not-found';
  constructor(message: string, kind: 'invalid' | 'not-found' = 'invalid', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceError';
    this.kind = kind;
  }
}
