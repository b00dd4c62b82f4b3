#!/usr/bin/env node
// Entry point. Hullscan's TypeScript runs on Node's built-in type stripping (Node >= 22.18),
// so there is no build step; older Node versions get a clear message instead of a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `hullscan: Node.js >= 22.18 is required (this is ${process.versions.node}). ` +
      'Run `bash scripts/setup.sh` and use `scripts/run npx hullscan ...`.\n',
  );
  process.exit(2);
}
const { enableCompileCache } = await import('./compile-cache.js');
enableCompileCache();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
