/**
 * The command line as a new user meets it: every command and group answers --help with its own
 * options (exit 0), every wrong command line is one line plus the command's usage (exit 2, no
 * stack trace), missing files are one sentence, and a URL the policy refuses names the CLI flag
 * that relaxes it, never an API option.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS, groupHelp, main, MAIN_HELP, type CommandIo } from '../../src/cli/main.ts';

const BIN = new URL('../../bin/hullscan.js', import.meta.url).pathname;

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(...argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const io: CommandIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    isTty: false,
    write: async (c) => void (out += Buffer.from(c).toString()),
  };
  const code = await main(argv, io);
  return { code, out, err };
}

const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))];

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('every command: --help exits 0 with its own usage and options on stdout', async () => {
  const helps = new Set<string>();
  for (const c of COMMANDS) {
    const r = await run(...c.name.split(' '), '--help');
    assert.equal(r.code, 0, `${c.name} --help: ${r.err}`);
    assert.equal(r.err, '', c.name);
    assert.ok(r.out.startsWith(`Usage: hullscan ${c.name}`), `${c.name} --help shows its own usage:\n${r.out.slice(0, 200)}`);
    assert.match(r.out, /^Options:$/m, `${c.name} --help lists its options`);
    assert.match(r.out, /-h, --help/, c.name);
    helps.add(r.out);
  }
  assert.equal(helps.size, COMMANDS.length, 'no two commands share one help text (db import shows import, not all of db)');
});

test('every group: --help exits 0 and lists its subcommands; the group alone is a usage error', async () => {
  assert.deepEqual(GROUPS.sort(), ['db', 'disk', 'fs', 'image']);
  for (const g of GROUPS) {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await run(g, flag);
      assert.equal(r.code, 0, `${g} ${flag}`);
      assert.equal(r.out, groupHelp(g));
    }
    for (const c of COMMANDS.filter((x) => x.name.startsWith(`${g} `))) assert.ok(groupHelp(g).includes(`  ${c.name} `), `${g} help names ${c.name}`);
    const bare = await run(g);
    assert.equal(bare.code, 2);
    assert.equal(bare.out, '');
    assert.equal(bare.err, `hullscan: '${g}' needs a command\n\n${groupHelp(g)}`);
    const unknown = await run(g, 'frob');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, new RegExp(`^hullscan: unknown command '${g} frob'\\n\\nUsage: hullscan ${g} <`));
  }
});

test('an unknown option is exit 2 with one line and the command usage, on every command', async () => {
  for (const c of COMMANDS) {
    for (const bad of ['--frob', '--frob=1', '-Z']) {
      const r = await run(...c.name.split(' '), bad, 'target');
      assert.equal(r.code, 2, `${c.name} ${bad}: ${r.err}`);
      assert.equal(r.out, '');
      const lines = r.err.split('\n');
      assert.equal(lines[0], `hullscan: unknown option '${bad.replace(/=.*/, '')}'`, c.name);
      assert.equal(lines[1], '');
      assert.ok(lines[2]!.startsWith(`Usage: hullscan ${c.name}`), `${c.name}: usage follows:\n${r.err}`);
      assert.ok(r.err.endsWith(`Run 'hullscan ${c.name} --help' for its options.\n`), c.name);
      assert.doesNotMatch(r.err, /internal error|\n\s+at /, `${c.name}: no stack trace`);
    }
  }
});

test('the main command: help, version, no command, unknown command or option', async () => {
  const help = await run('--help');
  assert.deepEqual([help.code, help.out, help.err], [0, MAIN_HELP, '']);
  for (const c of COMMANDS) assert.match(MAIN_HELP, new RegExp(`^  ${c.name} `, 'm'), `main help lists ${c.name}`);
  const version = await run('--version');
  assert.equal(version.code, 0);
  assert.match(version.out, /^hullscan \d+\.\d+\.\d+/);
  const none = await run();
  assert.equal(none.code, 2);
  assert.equal(none.err, `hullscan: no command given\n\n${MAIN_HELP}`);
  assert.match((await run('frob')).err, /^hullscan: unknown command 'frob'\n/);
  const opt = await run('--frob');
  assert.equal(opt.code, 2);
  assert.match(opt.err, /^hullscan: unknown option '--frob'\n/);
});

test('wrong values and argument counts are exit 2, never a stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['inventory', '--format'], /^hullscan: option '--format <value>' argument missing\n\nUsage: hullscan inventory /],
    [['fs', 'ls', '--hash=3', 'x'], /^hullscan: option '--hash' does not take an argument\n/],
    [['scan'], /^hullscan: scan takes one target \(or --sbom FILE\)\n\nUsage: hullscan scan /],
    [['fs', 'cat', 'only-target'], /^hullscan: fs cat takes a target and a path\n/],
    [['db', 'status', 'extra'], /^hullscan: db status takes no arguments\n/],
    [['scan', 'x', '--format', 'xml'], /^hullscan: unknown --format 'xml'/],
  ];
  for (const [argv, expected] of cases) {
    const r = await run(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, expected, argv.join(' '));
  }
});

test('a missing target is one sentence naming it (exit 3) for every command that reads one', async () => {
  const missing = '/nonexistent/hullscan-no-such-disk.img';
  for (const argv of [['disk', 'inspect', missing], ['fs', 'ls', missing], ['fs', 'cat', missing, '/etc/os-release'], ['inventory', missing], ['sbom', missing], ['scan', missing]]) {
    const r = await run(...argv);
    assert.equal(r.code, 3, argv.join(' '));
    assert.equal(r.err, `hullscan: SourceError: cannot read target '${missing}': no such file or directory\n`, argv.join(' '));
  }
});

test('--output into a missing directory is one sentence (exit 2), and nothing is left behind', async (t) => {
  const dir = tmp(t);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
  const out = join(dir, 'no-such-dir', 'node.cdx.json');
  const r = await run('sbom', root, '--output', out);
  assert.equal(r.code, 2, r.err);
  assert.equal(r.err, `hullscan: cannot write '${out}': the directory '${join(dir, 'no-such-dir')}' does not exist\n`);
});

test('scan of a directory that is not a root filesystem: NOT ASSESSED, and exit 3 unless --exit-code says otherwise', async (t) => {
  const dir = tmp(t);
  const target = join(dir, 'not-a-root');
  mkdirSync(join(target, 'a'), { recursive: true });
  writeFileSync(join(target, 'a', 'f'), 'hello\n');
  const db = join(dir, 'vuln.db');
  const imported = await run('db', 'import', '--db', db, new URL('../../data/vulndb/known_exploited_vulnerabilities.json.gz', import.meta.url).pathname);
  assert.equal(imported.code, 0, imported.err);
  const r = await run('scan', target, '--db', db);
  assert.equal(r.code, 3, r.err);
  assert.match(r.out, /^Vulnerabilities: NOT ASSESSED/m, 'the verdict is kept in the report');
  assert.match(r.err, /nothing could be assessed/);
  const gated = await run('scan', target, '--db', db, '--exit-code', '5');
  assert.equal(gated.code, 5, 'an explicit gate keeps its own code');
});

test('a refused loopback or http URL names --allow-private-urls, never the API options', async () => {
  for (const url of ['https://127.0.0.1:9/disk.img', 'http://localhost:9/disk.img']) {
    for (const argv of [['disk', 'inspect', url], ['inventory', url], ['sbom', url], ['fs', 'ls', url]]) {
      const r = await run(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, /--allow-private-urls/, argv.join(' '));
      assert.doesNotMatch(r.err, /allowPrivateNetwork|allowHttp/, argv.join(' '));
    }
  }
  // With the flag the policy lets it through: what fails then is the connection (nothing listens on port 9).
  const allowed = await run('disk', 'inspect', 'https://127.0.0.1:9/disk.img', '--allow-private-urls');
  assert.equal(allowed.code, 3, allowed.err);
  assert.doesNotMatch(allowed.err, /refusing/);
  // Cloud metadata addresses stay refused whatever the flag.
  const metadata = await run('disk', 'inspect', 'http://169.254.169.254/latest', '--allow-private-urls');
  assert.equal(metadata.code, 2);
  assert.match(metadata.err, /refusing a metadata address/);
  assert.doesNotMatch(metadata.err, /--allow-private-urls/);
});

test('the installed command: an unknown option exits 2 without a stack trace', () => {
  for (const argv of [['--frob'], ['scan', '--allow-private-urlz'], ['disk', '--help']]) {
    const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8' });
    if (argv[1] === '--help') {
      assert.equal(r.status, 0, r.stderr);
      continue;
    }
    assert.equal(r.status, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
