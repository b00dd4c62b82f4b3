/**
 * Every vulnerability source, in one explicit list (nothing registers itself on import). Order
 * matters for detection: the most specific formats first, OSV (generic JSON) last.
 */
import type { VulnSource } from '../index.ts';
import { alpineSecdbSource } from './alpine-secdb/index.ts';
import { azureLinuxOvalSource } from './azurelinux-oval/index.ts';
import { epssSource } from './epss/index.ts';
import { kevSource } from './kev/index.ts';
import { osvSource } from './osv/index.ts';
import { ubuntuUctSource } from './ubuntu-uct/index.ts';

export const VULN_SOURCES: readonly VulnSource[] = [kevSource, epssSource, azureLinuxOvalSource, alpineSecdbSource, ubuntuUctSource, osvSource];

/** The source that recognises a feed file, or undefined. `head` is the (decompressed) start of the file. */
export function detectSource(name: string, head: Uint8Array, sources: readonly VulnSource[] = VULN_SOURCES): VulnSource | undefined {
  return sources.find((s) => s.detect(name, head));
}
