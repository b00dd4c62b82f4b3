// The layer rules of src/ (docs/architecture.md "Layers"), checked by ESLint on every import,
// export-from and import() so that they hold by themselves. A folder of src/ is a layer; a
// file may import its own layer and the layers listed for it. Type-only imports are free
// within the engine's order and, for the control plane, of any engine layer (a store row
// names an Inventory; it does not run one). Exceptions are single files, each with a reason.

/** Value imports each layer may make (besides its own folder), low in the flow first. */
export const LAYERS = {
  util: [],
  disk: ['util'],
  volume: ['disk', 'util'],
  fs: ['disk', 'util'],
  version: ['util'],
  inventory: ['version', 'util'],
  analyze: ['fs', 'inventory', 'version', 'util'],
  vulndb: ['inventory', 'version', 'util'],
  // The node-image catalogue: beside vulndb/, knows images and their package sets.
  catalog: ['inventory', 'util'],
  match: ['vulndb', 'inventory', 'version', 'util'],
  malware: ['fs', 'inventory', 'util'],
  // Writers of a ScanResult: they read its types (scan/result.ts) and share the vocabulary of
  // what they print with the layers that made it: package URLs and the CycloneDX model
  // (inventory/sbom, also the SBOM command's), severities (vulndb/), CVSS scores (match/).
  report: ['inventory', 'vulndb', 'match', 'util'],
  // The one composition root of the engine.
  scan: ['analyze', 'disk', 'volume', 'fs', 'inventory', 'vulndb', 'match', 'malware', 'version', 'util'],
  // The control plane (DESIGN.md "Control plane"): dependencies run down this list.
  store: ['util'],
  jobs: ['store', 'util'],
  // Providers return BlockSources (disk/'s interface) and know nothing of findings.
  cloud: ['disk', 'util'],
  // Runs: discover → node scans → publish; re-match on a data update (match/ + vulndb/, no disk).
  control: ['cloud', 'jobs', 'scan', 'catalog', 'store', 'match', 'vulndb', 'util'],
  // Recommendations, findings, remediation (from the node-image catalogue), exemptions, history.
  // Remediation and the candidate-image gate match a catalogue image's package list with the
  // engine's matcher (match/) against the vulnerability database (vulndb/): no disk is read.
  service: ['store', 'catalog', 'match', 'vulndb', 'util'],
  // The REST API (issue #14): views through service/, runs through control/; inventory/ for the
  // SBOM writers of a node's stored inventory. Of store/ only the files in LAYER_FILES.
  api: ['service', 'control', 'inventory', 'util'],
  // The CLI: engine commands through scan/ and report/, fleet commands through control/ and
  // service/, and the store it opens for them.
  // `serve` mounts the REST API (api/) on --listen.
  cli: ['scan', 'report', 'control', 'service', 'store', 'api', 'util'],
};

/** Extra type-only imports of engine layers (control-plane layers may type-import any engine layer). */
const TYPE_ONLY = {
  report: ['scan', 'malware'],
  store: ['inventory', 'match', 'malware', 'scan', 'vulndb', 'catalog', 'version'],
  // Providers record snapshot intents and leases in rows whose types the store defines.
  cloud: ['store'],
  // The API answers with the rows' types (Account, Cluster, NodeWithScan, Exemption…).
  api: ['store'],
};

/**
 * Single files of a layer that another layer may import values from, each with its reason. The
 * API never opens the store or writes its fleet tables (store/open.ts, fleet-store.ts stay out).
 */
const LAYER_FILES = {
  api: {
    'store/model.ts': 'the vocabulary of the schemas: providers, run and node-scan states and reasons',
    'store/auth-store.ts': "the API's own tables: tokens, role assignments, sessions, audit log, idempotency keys",
    'store/driver.ts': 'ConflictError: a stale If-Match answers 412',
  },
};

const ENGINE = new Set(['util', 'disk', 'volume', 'fs', 'version', 'inventory', 'analyze', 'vulndb', 'catalog', 'match', 'malware', 'report', 'scan']);
const CONTROL_PLANE = new Set(['store', 'jobs', 'cloud', 'control', 'service', 'api', 'cli']);

/** Files any layer above their own may import: error vocabularies, mapped to exit codes and states. */
const SHARED_FILES = new Set(['fs/errors.ts']);

/** Single-file exceptions, "from → to" relative to src/, each with its reason. */
export const EXCEPTIONS = {
  // LVM physical volumes are detected among filesystem signatures (a volume holding an LVM PV
  // is "not a filesystem, but this"); the label parser is volume/'s.
  'fs/detect.ts -> volume/lvm/label.ts': 'detect names an LVM PV among filesystem signatures',
  // `fs ls` / `fs cat` are views of the FileSystem seam itself: listing and hashing walk it.
  'cli/commands/fs.ts -> fs/path-fs.ts': 'fs ls/cat list and read the FileSystem seam directly',
  'cli/commands/fs.ts -> fs/walk.ts': 'fs ls -r walks the FileSystem seam directly',
  // `db` drives the vulnerability database: there is no scan in it.
  'cli/commands/db.ts -> vulndb/store.ts': 'db import/status open the database',
  'cli/commands/db.ts -> vulndb/update.ts': 'db update downloads the feeds',
  'cli/commands/db.ts -> vulndb/fetch.ts': 'db update --catalog downloads the release notes through the feed fetch (URL policy)',
  'cli/commands/db.ts -> catalog/refresh.ts': 'db update --catalog refreshes the node-image catalogue',
  'cli/commands/db.ts -> catalog/load.ts': 'db update --catalog reads the catalogue it refreshes (catalogDirForDb, loadCatalog)',
  // `sbom` writes the inventory in a chosen format: the writers are inventory/sbom's.
  'cli/commands/sbom.ts -> inventory/sbom/index.ts': 'sbom picks an SBOM writer',
  'cli/commands/scan.ts -> inventory/sbom/common.ts': 'the tool version stamped into reports',
  // Flag parsing names the engines a user may choose.
  'cli/commands/malware-options.ts -> malware/registry.ts': '--malware-engines checks engine ids',
};

function layerOf(rel) {
  const i = rel.indexOf('/');
  return i < 0 ? undefined : rel.slice(0, i);
}

/** Whether an import declaration / export-from / specifier list is type-only. */
function typeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specs = node.specifiers ?? [];
  return specs.length > 0 && specs.every((s) => s.importKind === 'type' || s.exportKind === 'type');
}

export function allowed(fromRel, toRel, isType) {
  const from = layerOf(fromRel);
  const to = layerOf(toRel);
  if (from === undefined || to === undefined || from === to) return true;
  if (LAYERS[from]?.includes(to)) return true;
  if (SHARED_FILES.has(toRel) && (LAYERS[from] !== undefined)) return true;
  if (EXCEPTIONS[`${fromRel} -> ${toRel}`] !== undefined) return true;
  if (LAYER_FILES[from]?.[toRel] !== undefined) return true;
  if (isType) {
    if (TYPE_ONLY[from]?.includes(to)) return true;
    if (CONTROL_PLANE.has(from) && ENGINE.has(to)) return true;
  }
  return false;
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ layers import only the layers below them (docs/architecture.md "Layers")' },
    messages: {
      forbidden: "{{from}}/ may not import {{what}} from {{to}}/ ('{{target}}'): layer rules in eslint-rules/layers.js, docs/architecture.md \"Layers\"",
      unknown: "src/{{layer}}/ has no layer rule: add it to LAYERS in eslint-rules/layers.js (and to docs/architecture.md)",
      outside: "src/ may not import '{{target}}' (outside src/ only data/ and package.json)",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename.replaceAll('\\', '/');
    const at = file.lastIndexOf('/src/');
    if (at < 0) return {};
    const fromRel = file.slice(at + '/src/'.length);
    const fromLayer = layerOf(fromRel);
    if (fromLayer === undefined) return {};
    const root = file.slice(0, at);
    const dir = file.slice(0, file.lastIndexOf('/'));

    function check(node, source, isType) {
      if (source === null || source === undefined || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      if (!spec.startsWith('.')) return;
      const parts = `${dir}/${spec}`.split('/');
      const out = [];
      for (const p of parts) {
        if (p === '..') out.pop();
        else if (p !== '.' && p !== '') out.push(p);
      }
      const abs = `/${out.join('/')}`;
      if (!abs.startsWith(`${root}/src/`)) {
        const rel = abs.slice(root.length + 1);
        if (!rel.startsWith('data/') && rel !== 'package.json') context.report({ node, messageId: 'outside', data: { target: spec } });
        return;
      }
      const toRel = abs.slice(`${root}/src/`.length);
      const toLayer = layerOf(toRel);
      if (toLayer === fromLayer) return;
      if (LAYERS[fromLayer] === undefined) {
        context.report({ node, messageId: 'unknown', data: { layer: fromLayer } });
        return;
      }
      if (!allowed(fromRel, toRel, isType)) {
        context.report({ node, messageId: 'forbidden', data: { from: fromLayer, to: toLayer, what: isType ? 'types' : 'values', target: spec } });
      }
    }

    return {
      ImportDeclaration: (node) => check(node, node.source, typeOnly(node)),
      ExportNamedDeclaration: (node) => check(node, node.source, typeOnly(node)),
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type'),
      ImportExpression: (node) => check(node, node.source, false),
    };
  },
};

export const layersPlugin = { rules: { imports: rule } };
