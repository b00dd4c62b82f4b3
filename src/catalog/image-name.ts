/**
 * AKS node-image names: "<family>-<version>" as the AKS API reports a node pool's
 * nodeImageVersion ("AKSUbuntu-2204gen2containerd-202309.06.0"), the version being
 * YYYYMM.DD.N (the build date and a same-day counter).
 */

/** Longest name accepted: AKS names are ~50 characters; anything far longer is not one. */
const MAX_NODE_IMAGE_NAME_CHARS = 200;
const VERSION = /^(\d{4})(\d{2})\.(\d{2})\.(\d{1,4})$/;
const FAMILY = /^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*$/;

/**
 * "AKSUbuntu-2204gen2containerd-202309.06.0" → { family, version }; also a family with the
 * version given apart ("AKSUbuntu-2204gen2containerd", "202309.06.0"). Undefined when not of
 * that shape.
 */
export function parseNodeImage(s: string, version?: string): { family: string; version: string } | undefined {
  const name = s.trim();
  if (name.length === 0 || name.length > MAX_NODE_IMAGE_NAME_CHARS) return undefined;
  if (version !== undefined) {
    const v = version.trim();
    // The family may itself carry the same version ("<family>-<version>" + "<version>").
    const family = name.endsWith(`-${v}`) ? name.slice(0, -v.length - 1) : name;
    return VERSION.test(v) && FAMILY.test(family) && !VERSION.test(family.slice(family.lastIndexOf('-') + 1)) ? { family, version: v } : undefined;
  }
  const i = name.lastIndexOf('-');
  if (i <= 0) return undefined;
  const family = name.slice(0, i);
  const v = name.slice(i + 1);
  return VERSION.test(v) && FAMILY.test(family) ? { family, version: v } : undefined;
}

/** Orders node-image versions by build date, then counter; versions not of the AKS shape sort last, by text. */
export function compareImageVersions(a: string, b: string): number {
  const ka = VERSION.exec(a);
  const kb = VERSION.exec(b);
  if (ka && kb) {
    for (let i = 1; i <= 4; i++) {
      const d = Number(ka[i]) - Number(kb[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  if (ka) return -1;
  if (kb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
