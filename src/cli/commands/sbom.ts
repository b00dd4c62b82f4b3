import { ALLOW_PRIVATE_URLS_HELP, ALLOW_PRIVATE_URLS_SPEC, ArgumentError, assertTargetExists, parseOptions, targetHttpOptions, writeOutputFile } from '../args.ts';
import { UsageError } from '../../util/errors.ts';

export const SBOM_HELP = `Usage: hullscan sbom <target> [options]

Writes the software bill of materials of a node disk image, filesystem image, HTTPS URL of
one, or directory: the OS, every OS package (dpkg, rpm, apk) and the Go modules built into
binaries no package owns, each with its package URL and the file it was read from.
See docs/sbom.md.

Options:
      --format F        cyclonedx (default; CycloneDX 1.6 JSON), spdx (SPDX 2.3 JSON) or
                        json (the Inventory JSON form, lossless).
  -o, --output FILE     Write to FILE (replaced atomically) instead of standard output.
      --volume ID       Volume to read ("p1", "lvm:vg0/root" or an index from disk inspect);
                        default: the root filesystem, chosen by probe.
${ALLOW_PRIVATE_URLS_HELP}
  -h, --help            Show this help.

'hullscan scan --sbom FILE' re-matches a cyclonedx or json SBOM without reading the disk again.
`;

export interface SbomCommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function sbomCommand(args: string[], io: SbomCommandIo): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'cyclonedx' },
      output: { type: 'string', short: 'o' },
      volume: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...ALLOW_PRIVATE_URLS_SPEC,
    },
  });
  if (values.help) {
    io.out(SBOM_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new ArgumentError('sbom takes one target');
  // The engine is loaded only now: `sbom --help` needs none of it. The writers are small; the
  // CycloneDX library behind one of them loads when it writes (inventory/sbom/cyclonedx.ts).
  const { isSbomFormat, SBOM_FORMATS, writeSbom } = await import('../../inventory/sbom/index.ts');
  const format = values.format;
  if (!isSbomFormat(format)) throw new UsageError(`unknown --format '${format}' (${SBOM_FORMATS.join(', ')})`);
  if (values.output === '') throw new UsageError('--output needs a file name');
  await assertTargetExists(positionals[0]!);
  const { inventoryTarget } = await import('../../scan/inventory.ts');
  const opened = await inventoryTarget(positionals[0]!, { open: targetHttpOptions(values['allow-private-urls']), ...(values.volume !== undefined && { volume: values.volume }) });
  let text: string;
  try {
    text = writeSbom(opened.inventory, format);
  } finally {
    await opened.close();
  }
  if (values.output === undefined) {
    io.out(text);
  } else {
    // Written beside the destination, then renamed: a failed write never leaves a half SBOM behind.
    await writeOutputFile(values.output, text, { atomic: true });
    const n = opened.inventory.packages.length;
    const gaps = opened.inventory.issues.length;
    io.err(`hullscan: wrote ${format} SBOM of ${n} packages to ${values.output}${gaps > 0 ? ` (${gaps} coverage issues: see the document)` : ''}\n`);
  }
  return 0;
}
