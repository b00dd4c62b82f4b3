/**
 * cli/ — the `hullscan` command. One table (COMMANDS) names every command, its one-line summary
 * and how to load it: a command's module, and the engine layers behind it, are imported only
 * when that command runs, so `hullscan --help` and a one-shot command load only what they use.
 * Errors map to exit codes in one place (errors.ts); a usage error prints one line and the
 * command's usage.
 */
import { readFileSync } from 'node:fs';
import { ArgumentError, usageFromParseArgs, type CliIo } from './args.ts';
import { describeError, scrubSecrets } from './errors.ts';

/** What a command's module gives main: its help text and its entry point. */
export interface LoadedCommand {
  help: string;
  run(args: string[], io: CommandIo): Promise<number>;
}

/** CliIo plus a binary writer (fs cat) that waits for stdout to drain. */
export interface CommandIo extends CliIo {
  write(chunk: Uint8Array): Promise<void>;
}

export interface CommandSpec {
  /** "scan", or "group sub" ("db import"): a group's subcommands share its first word. */
  name: string;
  /** Arguments shown in the main help after the name. */
  synopsis: string;
  summary: string;
  load(): Promise<LoadedCommand>;
}

/** A fleet command (commands/fleet.ts), loaded only when it runs. */
function fleet(cmd: string): () => Promise<LoadedCommand> {
  return async () => {
    const m = await import('./commands/fleet.ts');
    return { help: m.FLEET_HELPS[cmd]!, run: (args, io) => m.fleetCommand(cmd, args, io) };
  };
}

/** A security-view command (commands/security.ts, issue #13), loaded only when it runs. */
function security(cmd: string): () => Promise<LoadedCommand> {
  return async () => {
    const m = await import('./commands/security.ts');
    return { help: m.SECURITY_HELPS[cmd]!, run: (args, io) => m.securityCommand(cmd, args, io) };
  };
}

/**
 * Every command, in the order of the main help. Adding one is one entry; `load` runs only when
 * the command is used.
 */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'disk inspect',
    synopsis: '<target>',
    summary: 'Container format, size and every volume of a disk image',
    load: async () => {
      const m = await import('./commands/disk-inspect.ts');
      return { help: m.DISK_INSPECT_HELP, run: (args, io) => m.diskInspect(args, io.out) };
    },
  },
  {
    name: 'fs ls',
    synopsis: '<target> [path]',
    summary: 'List files inside an image (-r recursive, --hash SHA-256)',
    load: async () => {
      const m = await import('./commands/fs.ts');
      return { help: m.FS_LS_HELP, run: (args, io) => m.fsLs(args, io.out) };
    },
  },
  {
    name: 'fs cat',
    synopsis: '<target> <path>',
    summary: 'Write a file from inside an image to stdout',
    load: async () => {
      const m = await import('./commands/fs.ts');
      return { help: m.FS_CAT_HELP, run: (args, io) => m.fsCat(args, io.write, io.out) };
    },
  },
  {
    name: 'inventory',
    synopsis: '<target>',
    summary: 'OS, packages, kernels and coverage issues (--format json)',
    load: async () => {
      const m = await import('./commands/inventory.ts');
      return { help: m.INVENTORY_HELP, run: (args, io) => m.inventoryCommand(args, io.out) };
    },
  },
  {
    name: 'sbom',
    synopsis: '<target>',
    summary: 'SBOM: CycloneDX 1.6 (default), SPDX 2.3 or the inventory JSON',
    load: async () => {
      const m = await import('./commands/sbom.ts');
      return { help: m.SBOM_HELP, run: (args, io) => m.sbomCommand(args, io) };
    },
  },
  {
    name: 'scan',
    synopsis: '<target>',
    summary: 'Vulnerabilities (and --scanners malware): table, json, sarif, csv, cyclonedx',
    load: async () => {
      const m = await import('./commands/scan.ts');
      return { help: m.SCAN_HELP, run: (args, io) => m.scanCommand(args, io) };
    },
  },
  {
    name: 'db import',
    synopsis: '<file|dir|url>…',
    summary: 'Import vulnerability feed files into the local database (offline)',
    load: async () => {
      const m = await import('./commands/db.ts');
      return { help: m.DB_IMPORT_HELP, run: (args, io) => m.dbImport(args, io.out) };
    },
  },
  {
    name: 'db update',
    synopsis: '',
    summary: 'Download the public feeds and rebuild the local database',
    load: async () => {
      const m = await import('./commands/db.ts');
      return { help: m.DB_UPDATE_HELP, run: (args, io) => m.dbUpdate(args, io.out, io.err) };
    },
  },
  {
    name: 'db status',
    synopsis: '',
    summary: "The database's sources, counts and freshness (exit 1 when stale)",
    load: async () => {
      const m = await import('./commands/db.ts');
      return { help: m.DB_STATUS_HELP, run: (args, io) => m.dbStatus(args, io.out, io.err) };
    },
  },
  { name: 'serve', synopsis: '[--config FILE]', summary: 'The control plane: scheduled fleet scans, workers, health endpoints', load: fleet('serve') },
  { name: 'run', synopsis: '--once [--config FILE]', summary: 'One discovery + scan cycle of every account with scanning on (cron, CI)', load: fleet('run') },
  { name: 'nodes', synopsis: '', summary: 'Clusters, pools and nodes with their last node scan (or why not scanned)', load: fleet('nodes') },
  { name: 'findings', synopsis: '[--cve ID]', summary: 'Open vulnerability findings of the fleet, per node, with first/last seen', load: fleet('findings') },
  { name: 'alerts', synopsis: '[list|dismiss|resolve|suppress]', summary: 'Malware and package-integrity alerts of the fleet: review, suppression rules', load: fleet('alerts') },
  { name: 'recommendations', synopsis: '[--by cluster|account]', summary: '"Kubernetes nodes should have vulnerability findings resolved", per cluster', load: security('recommendations') },
  { name: 'remediation', synopsis: '[--pool P] [--to VERSION]', summary: 'What upgrading each node pool\'s node image fixes, what remains; drifted nodes', load: security('remediation') },
  { name: 'image check', synopsis: '--catalog VERSION | --disk IMAGE', summary: 'What a candidate node image would fix and introduce on a pool (CI gate)', load: security('image check') },
  { name: 'exemptions', synopsis: '[list|add|remove]', summary: 'Exempt findings (scope, pattern, reason, owner, expiry) from the recommendation', load: security('exemptions') },
  { name: 'runs', synopsis: '[--run ID]', summary: 'Scan runs and their node scans', load: fleet('runs') },
  { name: 'accounts', synopsis: '[list|set|history]', summary: 'Accounts and their settings ("Agentless scanning for machines", …)', load: fleet('accounts') },
];

/** First words that name a group of subcommands ("db", "disk", "fs"). */
function groupOf(name: string): string | undefined {
  const space = name.indexOf(' ');
  return space < 0 ? undefined : name.slice(0, space);
}

function commandLines(specs: readonly CommandSpec[]): string {
  const left = specs.map((c) => `${c.name} ${c.synopsis}`.trimEnd());
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((c, i) => `  ${left[i]!.padEnd(width)}${c.summary}`).join('\n');
}

export const MAIN_HELP = `Usage: hullscan <command> [options]

Agentless vulnerability assessment and malware detection for Kubernetes nodes:
reads node disk images and snapshots as bytes, without mounting them.

Commands:
${commandLines(COMMANDS)}

Targets: a disk image (raw, VHD, VHDX, VMDK, qcow2), a bare filesystem image,
an https:// URL of one (range reads; signed URLs are never printed), or a directory.

Options:
  -h, --help       Show this help ('hullscan <command> --help' shows a command's options)
  -V, --version    Show the version

Exit codes: 0 done, N with --exit-code N (scan), 1 stale database (db status), 2 usage
error, 3 unreadable, unsupported or unassessed input, 4 internal error. Docs: docs/cli.md
`;

/** The help of a group ("hullscan db --help"): its subcommands and where their options are. */
export function groupHelp(group: string): string {
  const subs = COMMANDS.filter((c) => groupOf(c.name) === group);
  return `Usage: hullscan ${group} <${subs.map((c) => c.name.slice(group.length + 1)).join('|')}> [options]

Commands:
${commandLines(subs)}

Run 'hullscan ${group} <command> --help' for a command's options.
`;
}

/** The "Usage:" lines at the top of a help text. */
export function usageLines(help: string): string {
  const end = help.indexOf('\n\n');
  return end < 0 ? help.trimEnd() : help.slice(0, end);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const isHelp = (a: string | undefined): boolean => a === '--help' || a === '-h' || a === 'help';

function processIo(): CommandIo {
  // `hullscan sbom x | head`: a reader that closed the pipe has what it wanted; not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    isTty: process.stderr.isTTY === true,
    write: async (chunk) => {
      if (!process.stdout.write(chunk)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
    },
  };
}

/** Runs one command line; returns the exit code. `io` defaults to the process's streams. */
export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const [cmd, sub] = argv;
  // What a usage error shows under its one line: the command's usage, or the list of commands.
  let usage = MAIN_HELP;
  let helpHint = '';
  try {
    if (cmd === undefined) throw new ArgumentError('no command given');
    if (isHelp(cmd)) {
      io.out(MAIN_HELP);
      return 0;
    }
    if (cmd === '--version' || cmd === '-V') {
      io.out(`hullscan ${version()}\n`);
      return 0;
    }
    let spec = COMMANDS.find((c) => c.name === cmd);
    let args = argv.slice(1);
    if (spec === undefined && COMMANDS.some((c) => groupOf(c.name) === cmd)) {
      usage = groupHelp(cmd);
      if (isHelp(sub)) {
        io.out(usage);
        return 0;
      }
      if (sub === undefined) throw new ArgumentError(`'${cmd}' needs a command`);
      spec = COMMANDS.find((c) => c.name === `${cmd} ${sub}`);
      if (spec === undefined) throw new ArgumentError(sub.startsWith('-') ? `unknown option '${sub}'` : `unknown command '${cmd} ${sub}'`);
      args = argv.slice(2);
    }
    if (spec === undefined) throw new ArgumentError(cmd.startsWith('-') ? `unknown option '${cmd}'` : `unknown command '${cmd}'`);
    const command = await spec.load();
    usage = usageLines(command.help) + '\n\n';
    helpHint = `Run 'hullscan ${spec.name} --help' for its options.\n`;
    return await command.run(args, io);
  } catch (err) {
    const { code, message } = describeError(err);
    io.err(`hullscan: ${scrubSecrets(message)}\n`);
    if (usageFromParseArgs(err) instanceof ArgumentError) io.err(`\n${usage}${helpHint}`);
    return code;
  }
}
