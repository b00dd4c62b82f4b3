/**
 * cli/ — the `hullscan` command. Parses arguments with node:util parseArgs, calls the
 * composition root (scan/), maps errors to exit codes in one place (errors.ts).
 */
import { readFileSync } from 'node:fs';
import { db } from './commands/db.ts';
import { diskInspect, DISK_INSPECT_HELP } from './commands/disk-inspect.ts';
import { fsCat, fsLs, FS_CAT_HELP, FS_LS_HELP } from './commands/fs.ts';
import { inventoryCommand } from './commands/inventory.ts';
import { scanCommand } from './commands/scan.ts';
import { sbomCommand } from './commands/sbom.ts';
import { describeError, EXIT_USAGE, scrubSecrets } from './errors.ts';

export const MAIN_HELP = `Usage: hullscan <command> [options]

Agentless vulnerability assessment and malware detection for Kubernetes nodes:
reads node disk images and snapshots as bytes, without mounting them.

Commands:
  disk inspect <target>         Container format, size and every volume of a disk image
  fs ls <target> [path]         List files inside an image (-r recursive, --hash SHA-256)
  fs cat <target> <path>        Write a file from inside an image to stdout
  inventory <target>            OS, packages, kernels and coverage issues (--format json)
  sbom <target>                 SBOM: CycloneDX 1.6 (default), SPDX 2.3 or the inventory JSON (--format, --output)
  scan <target>                 Vulnerabilities (and --scanners malware) with table/json/sarif/csv/cyclonedx output
  db import|update|status       Vulnerability database: import feed files, download feeds, show freshness

Targets: a disk image (raw, VHD, VHDX, VMDK, qcow2), a bare filesystem image,
an https:// URL of one (range reads; signed URLs are never printed), or a directory.

Run 'hullscan <command> --help' for a command's options. Docs: docs/cli.md
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function writeOut(s: string): void {
  process.stdout.write(s);
}

async function writeChunk(chunk: Uint8Array): Promise<void> {
  if (!process.stdout.write(chunk)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      writeOut(MAIN_HELP);
      return cmd === undefined ? EXIT_USAGE : 0;
    }
    if (cmd === '--version' || cmd === '-V') {
      writeOut(`hullscan ${version()}\n`);
      return 0;
    }
    if (cmd === 'disk' && sub === 'inspect') return await diskInspect(rest, writeOut);
    if (cmd === 'db') return await db(sub, rest, writeOut);
    if (cmd === 'fs' && sub === 'ls') return await fsLs(rest, writeOut);
    if (cmd === 'fs' && sub === 'cat') return await fsCat(rest, writeChunk, writeOut);
    if (cmd === 'inventory') return await inventoryCommand(argv.slice(1), writeOut);
    if (cmd === 'sbom') return await sbomCommand(argv.slice(1), { out: writeOut, err: (s) => process.stderr.write(s) });
    if (cmd === 'scan') return await scanCommand(argv.slice(1), { out: writeOut, err: (s) => process.stderr.write(s), isTty: process.stderr.isTTY === true });
    if (cmd === 'disk') writeOut(DISK_INSPECT_HELP);
    else if (cmd === 'fs') writeOut(FS_LS_HELP + '\n' + FS_CAT_HELP);
    else process.stderr.write(`hullscan: unknown command '${[cmd, sub].filter(Boolean).join(' ')}'\n\n${MAIN_HELP}`);
    return EXIT_USAGE;
  } catch (err) {
    const { code, message } = describeError(err);
    process.stderr.write(`hullscan: ${scrubSecrets(message)}\n`);
    return code;
  }
}
