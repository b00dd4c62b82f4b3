/**
 * The OVAL source's XML tokenizer against hostile input (no DTD, no entity expansion, bounded
 * nesting) and the Azure Linux normalization rules on edited copies of a real definition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CorruptError, UnsupportedError } from '../../src/util/errors.ts';
import type { Advisory, NormalizeSink } from '../../src/vulndb/index.ts';
import { azureLinuxOvalSource } from '../../src/vulndb/sources/azurelinux-oval/index.ts';
import { MAX_XML_DEPTH, tokenize } from '../../src/vulndb/sources/azurelinux-oval/xml.ts';
import { SLICES } from './helpers.ts';

function collect(): { sink: NormalizeSink; advisories: Advisory[] } {
  const advisories: Advisory[] = [];
  return { advisories, sink: { advisory: (a) => advisories.push(a), kev: () => undefined, epss: () => undefined } };
}

const REAL = gunzipSync(readFileSync(SLICES.oval)).toString('utf8');

test('XML: a DOCTYPE (entity declarations, external entities) is refused, never expanded', () => {
  const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>';
  assert.throws(() => [...tokenize(bomb)], UnsupportedError);
  const xxe = '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>';
  assert.throws(() => [...tokenize(xxe)], UnsupportedError);
  assert.throws(() => [...tokenize('<a>&x;</a>')], (e: unknown) => e instanceof CorruptError && /undefined entity &x;/.test(e.message));
});

test('XML: predefined entities, character references and CDATA decode; structure is checked', () => {
  const ev = [...tokenize('<?xml version="1.0"?><!-- c --><a k="1 &amp; 2 &#x41;"><b/>x &lt; y &#65;<![CDATA[<raw>]]></a>')];
  assert.deepEqual(ev, [
    { kind: 'open', name: 'a', attrs: { k: '1 & 2 A' }, selfClosing: false },
    { kind: 'open', name: 'b', attrs: {}, selfClosing: true },
    { kind: 'close', name: 'b' },
    { kind: 'text', text: 'x < y A' },
    { kind: 'text', text: '<raw>' },
    { kind: 'close', name: 'a' },
  ]);
  for (const bad of ['<a><b></a></b>', '<a>', '<a></a><b></b>', '<a k="1" k="2"/>', '<a k=1/>', 'text<a/>', '<a>&#0;</a>', '<a>&#xD800;</a>', '<a k="<"/>']) {
    assert.throws(() => [...tokenize(bad)], CorruptError, bad);
  }
  const deep = '<a>'.repeat(MAX_XML_DEPTH + 1) + '</a>'.repeat(MAX_XML_DEPTH + 1);
  assert.throws(() => [...tokenize(deep)], /nesting deeper than 64/);
  const ok = '<a>'.repeat(MAX_XML_DEPTH) + '</a>'.repeat(MAX_XML_DEPTH);
  assert.equal([...tokenize(ok)].length, 2 * MAX_XML_DEPTH);
});

test('OVAL: a real lower bound becomes "introduced"; the 0:0.0.0 placeholder does not', async () => {
  const edited = REAL.replace('<linux-def:evr datatype="evr_string" operation="greater than">0:0.0.0.azl3</linux-def:evr>', '<linux-def:evr datatype="evr_string" operation="greater than">0:1.19.0-1.azl3</linux-def:evr>');
  assert.notEqual(edited, REAL);
  const { sink, advisories } = collect();
  await azureLinuxOvalSource.normalize('azurelinux-3.0-oval.xml', new TextEncoder().encode(edited), sink);
  const ranged = advisories.flatMap((a) => a.affected).filter((p) => p.ranges[0]?.introduced !== undefined);
  assert.equal(ranged.length, 1);
  assert.equal(ranged[0]!.ranges[0]!.introduced, '0:1.19.0-1.azl3');
  assert.ok(ranged[0]!.ranges[0]!.fixed);
});

test('OVAL: patchable=false is "affected" with no fix offered', async () => {
  const edited = REAL.replace('<patchable>true</patchable>', '<patchable>false</patchable>');
  const first = /<title>(CVE-[^ ]+) affecting package (\S+)/.exec(REAL)!;
  const { sink, advisories } = collect();
  await azureLinuxOvalSource.normalize('azurelinux-3.0-oval.xml', new TextEncoder().encode(edited), sink);
  const a = advisories.find((x) => x.aliases[0] === first[1] && x.affected[0]!.name === first[2])!;
  assert.equal(a.affected[0]!.state, 'affected');
  assert.deepEqual(a.affected[0]!.ranges, [{}]);
  assert.equal(advisories.filter((x) => x.affected[0]!.state === 'affected').length, 1);
});

test('OVAL: a definition whose test names no package is counted malformed; the rest import', async () => {
  const objId = /<linux-def:rpminfo_object id="([^"]+)"/.exec(REAL)![1]!;
  const edited = REAL.replace(`<linux-def:rpminfo_object id="${objId}"`, '<linux-def:rpminfo_object id="oval:renamed:obj:1"');
  const { sink, advisories } = collect();
  const r = await azureLinuxOvalSource.normalize('azurelinux-3.0-oval.xml', new TextEncoder().encode(edited), sink);
  assert.equal(r.malformed, 1);
  assert.match(r.malformedExamples[0]!, /has no rpminfo_object name/);
  assert.equal(advisories.length, 70);
});

test('OVAL: the release comes from the file name, else the .azlN dist tag; neither is an error', async () => {
  const { sink, advisories } = collect();
  await azureLinuxOvalSource.normalize('download.xml', new TextEncoder().encode(REAL), sink);
  assert.equal(advisories[0]!.affected[0]!.namespace, 'azurelinux:3.0');
  const untagged = REAL.replaceAll('.azl3<', '<');
  await assert.rejects(azureLinuxOvalSource.normalize('download.xml', new TextEncoder().encode(untagged), collect().sink), /cannot tell the Azure Linux/);
  const mariner = collect();
  await azureLinuxOvalSource.normalize('cbl-mariner-2.0-oval.xml', new TextEncoder().encode(untagged), mariner.sink);
  assert.equal(mariner.advisories[0]!.affected[0]!.namespace, 'mariner:2.0');
});

test('OVAL: a truncated document is corrupt as a whole (the import keeps the previous database)', async () => {
  await assert.rejects(azureLinuxOvalSource.normalize('azurelinux-3.0-oval.xml', new TextEncoder().encode(REAL.slice(0, REAL.length / 2)), collect().sink), CorruptError);
});
