import { ALLOW_PRIVATE_URLS_HELP, ALLOW_PRIVATE_URLS_SPEC, ArgumentError, assertTargetExists, parseOptions, targetHttpOptions } from '../args.ts';
import type { OpenedDisk } from '../../scan/target.ts';
import { UsageError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import { formatBytes } from '../../util/units.ts';
import { renderTable } from '../table.ts';

export const DISK_INSPECT_HELP = `Usage: hullscan disk inspect <file|https-url> [--format table|json]

Prints a node disk's container format, virtual size, sector size and every volume
(partitions, LVM logical volumes, or the whole disk holding a bare filesystem), with
each volume's filesystem type, label and UUID. The image is read as bytes, never mounted.

Options:
      --format table|json   Output format (default: table). JSON is documented in docs/cli.md.
${ALLOW_PRIVATE_URLS_HELP}
  -h, --help                Show this help.
`;

/** The JSON form of `disk inspect` (documented in docs/cli.md). */
export interface DiskInspectJson {
  target: string;
  format: string;
  virtualSize: number;
  sectorSize: number;
  details: Record<string, string | number | boolean>;
  scheme: string;
  volumes: Array<{
    id: string;
    scheme: string;
    offset: number;
    size: number;
    readable: boolean;
    filesystem: string | null;
    label: string | null;
    uuid: string | null;
    partitionNumber?: number;
    name?: string;
    typeGuid?: string;
    partitionGuid?: string;
    mbrType?: number;
    bootable?: boolean;
    lvm?: { vg: string; lv: string; segments: string[]; pvs: string[] };
    parent?: string;
    issues: Issue[];
  }>;
  issues: Issue[];
}

export function inspectJson(disk: OpenedDisk): DiskInspectJson {
  const { container, layout } = disk;
  return {
    target: disk.target,
    format: container.format,
    virtualSize: container.source.size,
    sectorSize: container.source.sectorSize,
    details: { ...container.details, ...layout.details },
    scheme: layout.scheme,
    volumes: layout.volumes.map((v) => {
      const fs = disk.filesystems.get(v.id);
      return {
        id: v.id,
        scheme: v.scheme,
        offset: v.offset,
        size: v.size,
        readable: v.source !== undefined,
        filesystem: fs?.type ?? null,
        label: fs?.label ?? null,
        uuid: fs?.uuid ?? null,
        ...(v.partitionNumber !== undefined && { partitionNumber: v.partitionNumber }),
        ...(v.name !== undefined && { name: v.name }),
        ...(v.typeGuid !== undefined && { typeGuid: v.typeGuid }),
        ...(v.partitionGuid !== undefined && { partitionGuid: v.partitionGuid }),
        ...(v.mbrType !== undefined && { mbrType: v.mbrType }),
        ...(v.bootable !== undefined && { bootable: v.bootable }),
        ...(v.lvm !== undefined && { lvm: v.lvm }),
        ...(v.parent !== undefined && { parent: v.parent }),
        issues: v.issues,
      };
    }),
    issues: [...container.issues, ...layout.issues],
  };
}

export function inspectTable(j: DiskInspectJson): string {
  const head =
    `Target:       ${j.target}\n` +
    `Format:       ${j.format}${Object.keys(j.details).length ? ` (${Object.entries(j.details).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}\n` +
    `Virtual size: ${formatBytes(j.virtualSize)} (${j.virtualSize} bytes)\n` +
    `Sector size:  ${j.sectorSize}\n` +
    `Scheme:       ${j.scheme}\n\n`;
  const rows = j.volumes.map((v) => [
    v.id,
    v.scheme,
    String(v.offset),
    formatBytes(v.size),
    v.filesystem ?? (v.readable ? '-' : 'unreadable'),
    v.label ?? '',
    v.uuid ?? '',
    v.name ?? v.typeGuid ?? (v.mbrType !== undefined ? `type 0x${v.mbrType.toString(16).padStart(2, '0')}` : ''),
  ]);
  let out = head + renderTable(['VOLUME', 'SCHEME', 'OFFSET', 'SIZE', 'FILESYSTEM', 'LABEL', 'UUID', 'NAME/TYPE'], rows);
  const issues = [...j.issues, ...j.volumes.flatMap((v) => v.issues.map((i) => ({ ...i, location: i.location ?? `volume ${v.id}` })))];
  if (issues.length) {
    out += '\nIssues:\n' + issues.map((i) => `  ${i.severity.padEnd(7)} ${i.code}: ${i.message}${i.location ? ` (${i.location})` : ''}`).join('\n') + '\n';
  }
  return out;
}

export async function diskInspect(args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: { format: { type: 'string', default: 'table' }, help: { type: 'boolean', short: 'h' }, ...ALLOW_PRIVATE_URLS_SPEC },
  });
  if (values.help) {
    out(DISK_INSPECT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new ArgumentError('disk inspect takes one target');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError(`unknown --format '${values.format}' (table or json)`);
  await assertTargetExists(positionals[0]!);
  // The engine is loaded only now: `disk inspect --help` and usage errors need none of it.
  const { openDisk } = await import('../../scan/target.ts');
  const disk = await openDisk(positionals[0]!, targetHttpOptions(values['allow-private-urls']));
  try {
    const j = inspectJson(disk);
    out(values.format === 'json' ? JSON.stringify(j, null, 2) + '\n' : inspectTable(j));
  } finally {
    await disk.close();
  }
  return 0;
}
