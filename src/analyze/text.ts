/** Small helpers shared by the text-database analyzers (os-release, dpkg, apk, kernel). */
import type { FileSystem } from '../fs/index.ts';
import { issueFromError, type Issue } from '../util/issues.ts';

const decoder = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 text of a file; invalid bytes become U+FFFD (databases are ASCII in practice). */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Reads a text file bounded by `maxBytes`; a file that cannot be read (missing, a symlink loop,
 * too large, an I/O error) becomes an Issue with `code` instead of a throw.
 */
export async function readTextFile(fs: FileSystem, path: string, maxBytes: number, code: string, issues: Issue[]): Promise<string | undefined> {
  try {
    return decodeText(await fs.readFile(path, { maxBytes }));
  } catch (err) {
    issues.push(issueFromError(err, code, path));
    return undefined;
  }
}

/** Splits text into lines, accepting LF and CRLF endings. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
