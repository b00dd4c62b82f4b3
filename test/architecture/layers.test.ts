/**
 * The layer rule (eslint-rules/layers.js) catches what it is for: a low layer importing a high
 * one, the CLI reaching past scan/ into disk/, a control-plane value import the order forbids,
 * a dynamic import(), a new folder without a rule; and lets through what the order allows
 * (type-only imports of engine types from store/, the listed single-file exceptions). The
 * whole tree passing it is `npm run lint`.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { EXCEPTIONS, LAYERS, layersPlugin } from '../../eslint-rules/layers.js';

const ROOT = '/repo';

function lint(file: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat', cwd: ROOT });
  const messages = linter.verify(
    code,
    [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser }, plugins: { layers: layersPlugin }, rules: { 'layers/imports': 'error' } }],
    { filename: `${ROOT}/src/${file}` },
  );
  return messages.map((m) => m.message);
}

const CASES: [string, string, string, RegExp | undefined][] = [
  ['disk/ may not import scan/', 'disk/x.ts', "import { scanTarget } from '../scan/scan.ts';", /disk\/ may not import values from scan\//],
  ['fs/ may import disk/', 'fs/x.ts', "import { readInto } from '../disk/index.ts';", undefined],
  ['cli/ may not reach disk/', 'cli/commands/x.ts', "import { openFile } from '../../disk/file-source.ts';", /cli\/ may not import values from disk\//],
  ['cli/ reaches the engine through scan/', 'cli/commands/x.ts', "import { scanTarget } from '../../scan/scan.ts';", undefined],
  ['a dynamic import is checked too', 'cli/main.ts', "await import('../volume/probe.ts');", /cli\/ may not import values from volume\//],
  ['export-from is checked too', 'report/x.ts', "export { openDisk } from '../scan/target.ts';", /report\/ may not import values from scan\//],
  ['report/ reads scan/ types', 'report/x.ts', "import type { ScanResult } from '../scan/result.ts';", undefined],
  ['store/ may type-import engine results', 'store/x.ts', "import type { Finding } from '../match/index.ts';", undefined],
  ['store/ may not run the matcher', 'store/x.ts', "import { matchInventory } from '../match/run.ts';", /store\/ may not import values from match\//],
  ['specifiers all type-only count as type-only', 'store/x.ts', "import { type Inventory } from '../inventory/index.ts';", undefined],
  ['service/ may not drive scans', 'service/x.ts', "import { scanTarget } from '../scan/scan.ts';", /service\/ may not import values from scan\//],
  ['control/ drives scan/, cloud/, store/', 'control/x.ts', "import { scanTarget } from '../scan/scan.ts';\nimport { x } from '../cloud/index.ts';\nimport { y } from '../store/index.ts';", undefined],
  ['cloud/ may return BlockSources', 'cloud/x.ts', "import { FileSource } from '../disk/file-source.ts';", undefined],
  ['cloud/ knows nothing of findings', 'cloud/x.ts', "import { matchInventory } from '../match/run.ts';", /cloud\/ may not import values from match\//],
  ['catalog/ may import inventory/', 'catalog/x.ts', "import { x } from '../inventory/index.ts';", undefined],
  ['catalog/ may not import match/', 'catalog/x.ts', "import { x } from '../match/run.ts';", /catalog\/ may not import values from match\//],
  ['api/ never touches the store directly', 'api/x.ts', "import { openStore } from '../store/open.ts';", /api\/ may not import values from store\//],
  ['cli/ opens the store for fleet commands', 'cli/commands/fleet.ts', "import { openStore } from '../../store/open.ts';", undefined],
  ['a listed exception passes', 'fs/detect.ts', "import { x } from '../volume/lvm/label.ts';", undefined],
  ['the exception is for that file only', 'fs/other.ts', "import { x } from '../volume/lvm/label.ts';", /fs\/ may not import values from volume\//],
  ['a new folder needs a rule', 'frobs/x.ts', "import { x } from '../util/errors.ts';", /src\/frobs\/ has no layer rule/],
  ['src/ may not import tests', 'util/x.ts', "import { x } from '../../test/helpers/fuzz.ts';", /outside src\//],
  ['package imports are not layers', 'disk/x.ts', "import { x } from 'yaml';", undefined],
];

for (const [name, file, code, expected] of CASES) {
  test(`layer rule: ${name}`, () => {
    const messages = lint(file, code);
    if (expected === undefined) assert.deepEqual(messages, []);
    else {
      assert.equal(messages.length, 1, messages.join('\n'));
      assert.match(messages[0]!, expected);
    }
  });
}

test('every folder of src/ has a layer rule, and every exception names files that exist', () => {
  const folders = readdirSync(new URL('../../src/', import.meta.url), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  for (const f of folders) assert.ok(LAYERS[f] !== undefined, `src/${f}/ has no rule in eslint-rules/layers.js`);
  for (const key of Object.keys(EXCEPTIONS)) {
    for (const rel of key.split(' -> ')) assert.doesNotThrow(() => readdirSync(new URL(`../../src/${rel.slice(0, rel.lastIndexOf('/'))}/`, import.meta.url)), `${key}: ${rel}`);
  }
});
