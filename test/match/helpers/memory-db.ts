/**
 * An in-memory VulnDb over arrays, for matcher logic tables: an honest implementation of the
 * interface (lookup by namespace + name, namespaces with data, KEV and EPSS by CVE). Integration
 * tests use the real SQLite database built by importFeeds instead.
 */
import type { Advisory, AffectedRecord, DbStatus, EpssScore, KevEntry, VulnDb } from '../../../src/vulndb/index.ts';

export interface MemoryDbInput {
  advisories: Advisory[];
  kev?: KevEntry[];
  epss?: EpssScore[];
  /** Namespaces that have data even without an advisory for a package (an imported but empty feed). */
  namespaces?: string[];
}

export function memoryDb(input: MemoryDbInput): VulnDb {
  const rows = new Map<string, AffectedRecord[]>();
  const namespaces = new Map<string, number>();
  for (const ns of input.namespaces ?? []) namespaces.set(ns, 0);
  for (const a of input.advisories) {
    const { affected, ...advisory } = a;
    const seen = new Set<string>();
    for (const p of affected) {
      const key = `${p.namespace}\0${p.name}`;
      rows.set(key, [...(rows.get(key) ?? []), { advisory, affected: p }]);
      if (!seen.has(p.namespace)) namespaces.set(p.namespace, (namespaces.get(p.namespace) ?? 0) + 1);
      seen.add(p.namespace);
    }
  }
  const kev = new Map((input.kev ?? []).map((k) => [k.cve, k]));
  const epss = new Map((input.epss ?? []).map((e) => [e.cve, e]));
  return {
    lookup: (namespace, name) => rows.get(`${namespace}\0${name}`) ?? [],
    hasNamespace: (namespace) => namespaces.has(namespace),
    kev: (cve) => kev.get(cve),
    epss: (cve) => epss.get(cve),
    status: (): DbStatus => ({
      path: ':memory:',
      schemaVersion: 1,
      sources: [],
      namespaces: [...namespaces].map(([namespace, advisories]) => ({ namespace, advisories })),
      kevEntries: kev.size,
      epssScores: epss.size,
    }),
    close: () => {},
  };
}
