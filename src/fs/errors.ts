import { HullscanError } from '../util/errors.ts';

export type FsErrorCode = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EINVAL' | 'ENAMETOOLONG' | 'EFBIG';

/** A path-level error inside an image, with the errno-style code Node users expect. */
export class FsPathError extends HullscanError {
  readonly code: FsErrorCode;
  readonly path: string;
  constructor(code: FsErrorCode, path: string, message: string) {
    super(`${code}: ${message}, '${path}'`, { location: path });
    this.code = code;
    this.path = path;
  }
}
