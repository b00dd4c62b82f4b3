/**
 * Schema validators and goldens for the SBOM tests.
 *
 * CycloneDX: the official 1.6 JSON schema the @cyclonedx/cyclonedx-library ships
 * (res/schema/bom-1.6.SNAPSHOT.schema.json with its spdx and jsf-0.82 $refs), loaded the way the
 * library's own validator loads it (ajv, strict off, remote schemas disabled). SPDX: the official
 * SPDX 2.3 schema committed in test/data/sbom/spdx-schema-2.3.json (source in the README there).
 *
 * Goldens (test/data/sbom/golden/*) are compared byte-wise; `UPDATE_GOLDENS=1` rewrites them, and
 * only then. Review the diff before committing a rewrite.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { DATA } from './inventories.ts';

const require = createRequire(import.meta.url);
const CDX_SCHEMAS = join(require.resolve('@cyclonedx/cyclonedx-library/package.json'), '..', 'res', 'schema');

function loadJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

// ajv-formats is CommonJS; its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function newAjv(schemas: Record<string, Record<string, unknown>>): Ajv {
  const ajv = new Ajv({ strict: false, strictSchema: false, useDefaults: false, allErrors: true, schemas, loadSchema: (uri: string) => Promise.reject(new Error(`remote schemas are disabled: ${uri}`)) });
  addFormats(ajv);
  // Formats the CycloneDX schema uses that ajv-formats lacks (the library adds them the same way).
  ajv.addFormat('iri-reference', true);
  ajv.addFormat('idn-email', true);
  return ajv;
}

let cdxValidator: ValidateFunction | undefined;
let spdxValidator: ValidateFunction | undefined;

export function cycloneDx16Validator(): ValidateFunction {
  cdxValidator ??= newAjv({
    'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': loadJson(join(CDX_SCHEMAS, 'spdx.SNAPSHOT.schema.json')),
    'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': loadJson(join(CDX_SCHEMAS, 'jsf-0.82.SNAPSHOT.schema.json')),
    'http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json': loadJson(join(CDX_SCHEMAS, 'cryptography-defs.SNAPSHOT.schema.json')),
  }).compile(loadJson(join(CDX_SCHEMAS, 'bom-1.6.SNAPSHOT.schema.json')));
  return cdxValidator;
}

export function spdx23Validator(): ValidateFunction {
  spdxValidator ??= newAjv({}).compile(loadJson(join(DATA, 'spdx-schema-2.3.json')));
  return spdxValidator;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}

export function assertValid(validate: ValidateFunction, doc: unknown, what: string): void {
  const ok = validate(doc);
  assert.ok(ok, `${what} is not valid against its schema:\n${describe(validate.errors)}`);
}

export function isValid(validate: ValidateFunction, doc: unknown): boolean {
  return validate(doc) === true;
}

const GOLDEN = join(DATA, 'golden');

/** Byte-wise golden comparison; UPDATE_GOLDENS=1 rewrites the file instead. */
export function assertGolden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDENS === '1') {
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden ${name} is missing: run with UPDATE_GOLDENS=1 to create it, then review it`);
  const expected = readFileSync(path, 'utf8');
  assert.equal(actual, expected, `output differs from golden ${name} (UPDATE_GOLDENS=1 rewrites it after review)`);
}
