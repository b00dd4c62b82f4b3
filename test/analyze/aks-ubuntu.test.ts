/**
 * A realistic Ubuntu 22.04 AKS node tree: the real package list of AKSUbuntu-2204gen2containerd
 * 202508.20.0 written as a dpkg status file, the image's real os-release, its kernel in /boot and
 * /usr/lib/modules, and the grub.cfg grub-mkconfig writes. Checked against dpkg-query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ANALYZERS } from '../../src/analyze/registry.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';
import { inventoryOfTree } from './tree.ts';

const DATA = join(import.meta.dirname, '..', 'data');
const rows = readFileSync(join(DATA, 'dpkg', 'aks-ubuntu2204-202508.20.0.packages.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
const sourceOf = new Map(readFileSync(join(DATA, 'dpkg', 'ubuntu-binary-to-source.approx-from-debian12.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t') as [string, string]));

function statusText(): string {
  return rows.map(([name, version, arch]) => {
    const src = sourceOf.get(name!);
    return [`Package: ${name}`, 'Status: install ok installed', 'Priority: optional', `Architecture: ${arch}`, ...(src && src !== name ? [`Source: ${src}`] : []), `Version: ${version}`, 'Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>', `Description: ${name}`, ''].join('\n');
  }).join('\n');
}

test('AKS Ubuntu 22.04 node (real package list): packages equal dpkg-query, OS and boot kernel right', async (t) => {
  const skip = needTools('dpkg-query');
  if (skip) return t.skip(skip);
  const status = statusText();
  const tmp = tempDir();
  let oracle: string[];
  try {
    mkdirSync(join(tmp.dir, 'info'));
    mkdirSync(join(tmp.dir, 'updates'));
    writeFileSync(join(tmp.dir, 'status'), status);
    oracle = (await run('dpkg-query', [`--admindir=${tmp.dir}`, '-W', '-f', '${Package} ${Architecture} ${Version} ${source:Package} ${source:Version}\\n'])).split('\n').filter(Boolean).sort();
  } finally {
    tmp.cleanup();
  }
  const inv = await inventoryOfTree({
    'usr/lib/os-release': readFileSync(join(DATA, 'os-release', 'ubuntu-22.04')),
    'etc/os-release': { link: '../usr/lib/os-release' },
    'var/lib/dpkg/status': status,
    'boot/vmlinuz-5.15.0-1094-azure': 'k',
    'boot/grub/grub.cfg': readFileSync(join(DATA, 'kernel', 'ubuntu-22.04-grub.cfg'), 'utf8'),
    'usr/lib/modules/5.15.0-1094-azure/modules.dep': '',
    lib: { link: 'usr/lib' },
  }, ANALYZERS);
  assert.equal(inv.packages.length, rows.length);
  assert.deepEqual(inv.packages.map((p) => `${p.name} ${p.arch} ${p.version} ${p.source!.name} ${p.source!.version}`).sort(), oracle);
  assert.deepEqual([inv.os?.family, inv.os?.versionId, inv.os?.codename], ['ubuntu', '22.04', 'jammy']);
  const k = inv.kernel!;
  assert.deepEqual(k.installed.map((i) => [i.release, i.packageName, i.imagePath, i.hasModules]), [['5.15.0-1094-azure', 'linux-image-5.15.0-1094-azure', '/boot/vmlinuz-5.15.0-1094-azure', true]]);
  assert.equal(k.bootDefault, '5.15.0-1094-azure');
  assert.deepEqual(k.newerThanBootDefault, []);
  // No package database gap, no unknown OS.
  assert.deepEqual(inv.issues.filter((i) => i.severity === 'error'), []);
});
