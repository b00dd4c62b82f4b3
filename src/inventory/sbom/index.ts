/**
 * inventory/sbom/ — SBOM export and import. Writers: CycloneDX 1.6 JSON (cyclonedx.ts, through the
 * official library), SPDX 2.3 JSON (spdx.ts), and the inventory's own JSON form (`JSON.stringify`,
 * docs/inventory.md). Reader: `readSbom` (read.ts) for our CycloneDX, our JSON and third-party
 * CycloneDX with purls. Package URLs in purl.ts. See docs/sbom.md.
 */
import type { Inventory } from '../index.ts';
import type { SbomFormat, SbomWriteOptions } from './common.ts';
import { writeCycloneDx } from './cyclonedx.ts';
import { writeSpdx } from './spdx.ts';

export { isSbomFormat, SBOM_FORMATS, type SbomFormat, type SbomWriteOptions } from './common.ts';
export { inventoryToBom, writeCycloneDx } from './cyclonedx.ts';
export { inventoryToSpdx, writeSpdx } from './spdx.ts';
export { readSbom, readInventoryJson, SbomError, type ReadSbomOptions } from './read.ts';
export { packagePurl, parsePurl, formatPurl, PurlError, type PackageUrl } from './purl.ts';

/**
 * The inventory's JSON form: exactly `JSON.stringify(inventory)` (2-space indent, trailing
 * newline). It is the lossless format (file digests included); `readSbom` reads it back.
 */
export function writeInventoryJson(inv: Inventory): string {
  return JSON.stringify(inv, null, 2) + '\n';
}

/** Writes an inventory in one of the SBOM formats. */
export function writeSbom(inv: Inventory, format: SbomFormat, options: SbomWriteOptions = {}): string {
  switch (format) {
    case 'cyclonedx':
      return writeCycloneDx(inv, options);
    case 'spdx':
      return writeSpdx(inv, options);
    case 'json':
      return writeInventoryJson(inv);
  }
}
