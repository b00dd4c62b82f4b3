import { ALLOW_PRIVATE_URLS_HELP, ALLOW_PRIVATE_URLS_SPEC, ArgumentError, assertTargetExists, parseOptions, targetHttpOptions } from '../args.ts';
import type { Inventory } from '../../inventory/index.ts';
import { UsageError } from '../../util/errors.ts';
import { issueLocation } from '../../util/issues.ts';
import { renderTable } from '../table.ts';

export const INVENTORY_HELP = `Usage: hullscan inventory <target> [options]

Lists what is installed on a node disk image, filesystem image, HTTPS URL of one, or
directory: the OS, every OS package (dpkg, rpm, apk) with its source package, the installed
kernels and which one boots by default, and coverage issues (what could not be read).
Reads only metadata and package databases, never the whole disk. See docs/inventory.md.

Options:
      --format F        table (default) or json (the Inventory JSON form).
      --volume ID       Volume to read ("p1", "lvm:vg0/root" or an index from disk inspect);
                        default: the root filesystem, chosen by probe.
${ALLOW_PRIVATE_URLS_HELP}
  -h, --help            Show this help.
`;

export function renderInventoryTable(inv: Inventory): string {
  let out = '';
  const os = inv.os;
  out += `Target:  ${inv.target}\n`;
  out += `OS:      ${os ? `${os.prettyName ?? os.id} (family ${os.family}, release ${os.versionId}${os.codename ? `, ${os.codename}` : ''})` : 'unknown'}\n`;
  const k = inv.kernel;
  if (k) {
    const boot = k.bootDefault ? `${k.bootDefault} (${k.bootDefaultMethod ?? 'unknown method'})` : 'undetermined';
    out += `Kernel:  boots ${boot}; installed ${k.installed.map((i) => i.release).join(', ') || 'none'}\n`;
    if (k.newerThanBootDefault && k.newerThanBootDefault.length > 0) out += `         newer than the boot default: ${k.newerThanBootDefault.join(', ')}\n`;
  }
  out += `Packages: ${inv.packages.length}\n\n`;
  const rows = inv.packages.map((p) => [
    p.type,
    p.name,
    p.version,
    p.arch ?? '',
    p.source && (p.source.name !== p.name || p.source.version !== p.version) ? `${p.source.name} ${p.source.version}` : '',
    p.binaryPath ?? `${p.evidence[0]?.path ?? ''}${p.evidence[0]?.line !== undefined ? `:${p.evidence[0].line}` : ''}`,
  ]);
  out += renderTable(['TYPE', 'NAME', 'VERSION', 'ARCH', 'SOURCE', 'FROM'], rows);
  if (inv.issues.length > 0) {
    out += `\nCoverage issues (${inv.issues.length}):\n`;
    for (const i of inv.issues) out += `${i.severity}: ${i.code}: ${i.message}${issueLocation(i)}\n`;
  }
  return out;
}

export async function inventoryCommand(args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      volume: { type: 'string' },
      format: { type: 'string', default: 'table' },
      help: { type: 'boolean', short: 'h' },
      ...ALLOW_PRIVATE_URLS_SPEC,
    },
  });
  if (values.help) {
    out(INVENTORY_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new ArgumentError('inventory takes one target');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError(`unknown --format '${values.format}' (table or json)`);
  await assertTargetExists(positionals[0]!);
  // The engine is loaded only now: `inventory --help` and usage errors need none of it.
  const { inventoryTarget } = await import('../../scan/inventory.ts');
  const { inventory, close } = await inventoryTarget(positionals[0]!, { open: targetHttpOptions(values['allow-private-urls']), ...(values.volume !== undefined && { volume: values.volume }) });
  try {
    out(values.format === 'json' ? JSON.stringify(inventory, null, 2) + '\n' : renderInventoryTable(inventory));
  } finally {
    await close();
  }
  return 0;
}
