/**
 * Azure Linux / CBL-Mariner OVAL (microsoft/AzureLinuxVulnerabilityData,
 * `azurelinux-3.0-oval.xml`, `cbl-mariner-2.0-oval.xml`), plain or gzip. OVAL 5.11 definitions
 * schema (oval-definitions-schema.xsd, linux-definitions-schema.xsd: rpminfo_test /
 * rpminfo_object / rpminfo_state).
 *
 * Shape of Microsoft's files (2025-02): one `class="vulnerability"` definition per CVE and
 * package; `metadata` has the title, `reference source="CVE" ref_id=…`, `severity`
 * (Critical/High/Medium/Low), `patchable`, `advisory_date`; `criteria` holds criterion test_refs
 * to rpminfo_tests whose object names the SOURCE rpm and whose state has
 * `<evr datatype="evr_string" operation="less than">0:9.8p1-3.azl3</evr>` (the fixed version).
 * A second criterion with `operation="greater than"` bounds the range from below; the
 * placeholder `0:0.0.0` lower bound is dropped (STYLE.md "Don't" #4).
 *
 * Normalization: criteria are flattened; their rpminfo tests are grouped by package name into
 * one affected package each (AND of two tests on one package = one range; tests on different
 * packages = separate affected packages, a safe over-approximation). `patchable=false` means
 * no fix is published: state `affected` with an open range (the "less than" bound is not a
 * version anyone can install, so it is not offered as a fix). Release (namespace) comes from the file name
 * ("azurelinux-3.0", "cbl-mariner-2.0") or else from the dist tag of the EVRs (".azl3" →
 * azurelinux:3.0, ".cm2" → mariner:2.0).
 */
import { CorruptError } from '../../../util/errors.ts';
import type { Advisory, AffectedPackage, NormalizeReport, NormalizeSink, Severity, VersionRange, VulnSource } from '../../index.ts';
import { ovalNamespace, type NamespaceInfo } from '../../namespace.ts';
import { isoDate, MAX_ID_CHARS, maybeGunzip, Tally } from '../common.ts';
import { localName, tokenize } from './xml.ts';

export const AZURELINUX_OVAL_SOURCE_ID = 'azurelinux-oval';
/** Most definitions, tests, objects and states read from one file (2,266 definitions in 2025-02). */
export const MAX_OVAL_ITEMS = 1_000_000;
/** Most criteria references per definition. */
export const MAX_CRITERIA_PER_DEFINITION = 256;

const SEVERITIES: Record<string, Severity> = { critical: 'critical', high: 'high', important: 'high', medium: 'medium', moderate: 'medium', low: 'low', negligible: 'negligible', none: 'negligible' };

interface Definition {
  id: string;
  cls: string;
  title?: string;
  description?: string;
  cves: string[];
  refs: string[];
  severity?: string;
  patchable?: string;
  advisoryDate?: string;
  testRefs: string[];
  unsupportedCriteria: number;
}

interface OvalDoc {
  definitions: Definition[];
  tests: Map<string, { objectRef?: string; stateRef?: string }>;
  objects: Map<string, string>;
  states: Map<string, { operation: string; evr: string }[]>;
  timestamp?: string;
}

export const azureLinuxOvalSource: VulnSource = {
  id: AZURELINUX_OVAL_SOURCE_ID,

  detect(_name: string, head: Uint8Array): boolean {
    const t = new TextDecoder().decode(head.subarray(0, 8192));
    return /<(?:\w+:)?oval_definitions[\s>]/.test(t) && /(Azure Linux|CBL-Mariner|Mariner)/i.test(t);
  },

  // async: a broken feed rejects the promise (never throws synchronously at the caller).
  async normalize(name: string, raw: Uint8Array, sink: NormalizeSink): Promise<NormalizeReport> {
    const tally = new Tally();
    const xml = new TextDecoder('utf-8').decode(maybeGunzip(raw, name));
    const doc = parseOval(xml, name);
    const ns = ovalNamespace(name.split('/').pop() ?? name) ?? namespaceFromEvrs(doc);
    if (!ns) throw new CorruptError(`${name}: cannot tell the Azure Linux / CBL-Mariner release (no version in the file name, no .azlN/.cmN dist tag)`);
    for (const def of doc.definitions) {
      const where = `${name} ${def.id}`;
      if (def.cls !== 'vulnerability') {
        tally.skip(`definition-class:${def.cls.slice(0, 32)}`);
        continue;
      }
      if (def.unsupportedCriteria > 0) tally.skip('non-rpminfo-criterion', def.unsupportedCriteria);
      const byPackage = new Map<string, VersionRange>();
      let bad: string | undefined;
      for (const ref of def.testRefs) {
        const test = doc.tests.get(ref);
        if (!test) {
          // Not an rpminfo_test (or dangling): nothing we can evaluate on an rpm database.
          tally.skip('non-rpminfo-test');
          continue;
        }
        const pkg = test.objectRef === undefined ? undefined : doc.objects.get(test.objectRef);
        const states = test.stateRef === undefined ? undefined : doc.states.get(test.stateRef);
        if (pkg === undefined) {
          bad = `test ${ref} has no rpminfo_object name`;
          break;
        }
        const range = byPackage.get(pkg) ?? {};
        for (const s of states ?? []) {
          const op = s.operation.toLowerCase();
          if (op === 'less than') range.fixed = s.evr;
          else if (op === 'less than or equal') range.lastAffected = s.evr;
          else if (op === 'greater than' || op === 'greater than or equal') {
            if (!/^(?:0:)?0(?:\.0)*(?:[.-][A-Za-z0-9.]*)?$/.test(s.evr)) range.introduced = s.evr;
          } else {
            bad = `state ${test.stateRef ?? ''} has unsupported evr operation "${op.slice(0, 32)}"`;
          }
        }
        byPackage.set(pkg, range);
      }
      if (bad !== undefined) {
        tally.bad(where, bad);
        continue;
      }
      if (byPackage.size === 0) {
        tally.bad(where, 'no rpminfo test names a package');
        continue;
      }
      const vendor = severityOf(def.severity);
      const patchable = def.patchable?.trim().toLowerCase() !== 'false';
      const affected: AffectedPackage[] = [];
      for (const [pkgName, range] of byPackage) {
        const a: AffectedPackage = {
          namespace: ns.namespace,
          name: pkgName,
          nameKind: 'source',
          versionScheme: 'rpm',
          state: 'affected',
          ranges: [],
        };
        if (patchable && range.fixed !== undefined) {
          a.state = 'fixed';
          a.ranges = [range];
        } else {
          const open: VersionRange = {};
          if (range.introduced !== undefined) open.introduced = range.introduced;
          if (range.lastAffected !== undefined) open.lastAffected = range.lastAffected;
          a.ranges = [open];
        }
        if (vendor) a.vendorSeverity = vendor;
        affected.push(a);
      }
      const advisory: Advisory = {
        id: def.id,
        aliases: def.cves,
        source: AZURELINUX_OVAL_SOURCE_ID,
        feed: name,
        cvss: [],
        references: def.refs,
        affected,
      };
      const published = isoDate(def.advisoryDate);
      if (published !== undefined) {
        advisory.published = published;
        advisory.modified = published;
      }
      const summary = def.title ?? def.description;
      if (summary !== undefined) advisory.summary = summary;
      sink.advisory(advisory);
      tally.advisories++;
    }
    return tally.report();
  },
};

function severityOf(level: string | undefined): AffectedPackage['vendorSeverity'] {
  if (level === undefined || level.trim() === '') return undefined;
  const l = level.trim();
  return { source: 'microsoft', level: l.slice(0, 40), severity: SEVERITIES[l.toLowerCase()] ?? 'unknown' };
}

function namespaceFromEvrs(doc: OvalDoc): NamespaceInfo | undefined {
  for (const states of doc.states.values()) {
    for (const s of states) {
      const azl = /\.azl(\d{1,2})$/.exec(s.evr);
      if (azl) return ovalNamespace(`azure linux ${azl[1]!}.0`);
      const cm = /\.cm(\d{1,2})$/.exec(s.evr);
      if (cm) return ovalNamespace(`mariner ${cm[1]!}.0`);
    }
  }
  return undefined;
}

/** One pass over the tokens, collecting definitions, rpminfo tests, objects and states. */
function parseOval(xml: string, name: string): OvalDoc {
  const doc: OvalDoc = { definitions: [], tests: new Map(), objects: new Map(), states: new Map() };
  const path: string[] = [];
  let def: Definition | undefined;
  let test: { id: string; objectRef?: string; stateRef?: string } | undefined;
  let objectId: string | undefined;
  let stateId: string | undefined;
  let evrOperation: string | undefined;
  let text = '';
  let items = 0;
  let root = true;
  const count = (): void => {
    if (++items > MAX_OVAL_ITEMS) throw new CorruptError(`${name}: more than ${MAX_OVAL_ITEMS} OVAL items`);
  };
  const id = (attrs: Record<string, string>, key: string): string | undefined => {
    const v = attrs[key];
    return v !== undefined && v.length > 0 && v.length <= MAX_ID_CHARS ? v : undefined;
  };
  for (const ev of tokenize(xml)) {
    if (ev.kind === 'text') {
      if (text.length < 64 * 1024) text += ev.text;
      continue;
    }
    if (ev.kind === 'open') {
      const local = localName(ev.name);
      if (root) {
        if (local !== 'oval_definitions') throw new CorruptError(`${name}: root element is <${ev.name.slice(0, 64)}>, not oval_definitions`);
        root = false;
      }
      path.push(local);
      text = '';
      const parent = path[path.length - 2];
      if (local === 'definition' && parent === 'definitions') {
        count();
        def = { id: id(ev.attrs, 'id') ?? '', cls: ev.attrs['class'] ?? '', cves: [], refs: [], testRefs: [], unsupportedCriteria: 0 };
      } else if (def && local === 'reference' && parent === 'metadata') {
        const refId = id(ev.attrs, 'ref_id');
        if (refId !== undefined && /^CVE-\d{4}-\d{4,}$/.test(refId) && !def.cves.includes(refId)) def.cves.push(refId);
        const url = ev.attrs['ref_url'];
        if (url !== undefined && url.length <= 2048 && def.refs.length < 256) def.refs.push(url);
      } else if (def && local === 'criterion') {
        const ref = id(ev.attrs, 'test_ref');
        if (ref !== undefined && def.testRefs.length < MAX_CRITERIA_PER_DEFINITION) def.testRefs.push(ref);
      } else if (def && local === 'extend_definition') {
        def.unsupportedCriteria++;
      } else if (local === 'rpminfo_test' && parent === 'tests') {
        count();
        const tid = id(ev.attrs, 'id');
        if (tid !== undefined) test = { id: tid };
      } else if (test && (local === 'object' || local === 'state') && path[path.length - 2] === 'rpminfo_test') {
        const ref = local === 'object' ? id(ev.attrs, 'object_ref') : id(ev.attrs, 'state_ref');
        if (ref !== undefined) {
          if (local === 'object') test.objectRef = ref;
          else test.stateRef = ref;
        }
      } else if (local === 'rpminfo_object' && parent === 'objects') {
        count();
        objectId = id(ev.attrs, 'id');
      } else if (local === 'rpminfo_state' && parent === 'states') {
        count();
        stateId = id(ev.attrs, 'id');
        if (stateId !== undefined) doc.states.set(stateId, []);
      } else if (stateId !== undefined && local === 'evr') {
        evrOperation = ev.attrs['operation'] ?? 'equals';
      }
      continue;
    }
    // close
    const local = path.pop();
    const value = text.trim();
    text = '';
    if (local === 'definition' && def && path[path.length - 1] === 'definitions') {
      if (def.id !== '') doc.definitions.push(def);
      def = undefined;
    } else if (def && path[path.length - 1] === 'metadata') {
      if (local === 'title') def.title = value.slice(0, 1024);
      else if (local === 'description') def.description = value.slice(0, 4096);
      else if (local === 'severity') def.severity = value;
      else if (local === 'patchable') def.patchable = value;
      else if (local === 'advisory_date') def.advisoryDate = value;
    } else if (local === 'rpminfo_test' && test) {
      doc.tests.set(test.id, test);
      test = undefined;
    } else if (local === 'name' && objectId !== undefined && path[path.length - 1] === 'rpminfo_object') {
      if (value.length > 0 && value.length <= MAX_ID_CHARS) doc.objects.set(objectId, value);
    } else if (local === 'rpminfo_object') {
      objectId = undefined;
    } else if (local === 'evr' && stateId !== undefined && evrOperation !== undefined) {
      if (value.length > 0 && value.length <= MAX_ID_CHARS) doc.states.get(stateId)!.push({ operation: evrOperation, evr: value });
      evrOperation = undefined;
    } else if (local === 'rpminfo_state') {
      stateId = undefined;
    } else if (local === 'timestamp' && path[path.length - 1] === 'generator') {
      doc.timestamp = value;
    }
  }
  return doc;
}
