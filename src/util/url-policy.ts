/**
 * Which snapshot URLs the scanner may fetch. A tenant supplies the URL, and the scanner runs
 * inside a cloud network: without this check a URL could aim it at the instance metadata service
 * (169.254.169.254), the cluster's private services or localhost (SSRF).
 *
 * The check works on addresses, not names: the host is taken from the WHATWG URL parser (which
 * already normalises the IPv4 tricks `2130706433`, `0x7f.1`, `017700000001`, `127.1` into
 * dotted quads), resolved with the system resolver, and every address must be public. The
 * connection is then pinned to the vetted addresses (pinnedLookup) so that a second DNS answer
 * cannot rebind the name to an internal address.
 *
 * Address ranges: IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and updates:
 * RFC 1122 §3.2.1.3, RFC 1918, RFC 3927, RFC 4193, RFC 4291 §2.5, RFC 5737, RFC 6598, RFC 6052,
 * RFC 8215, RFC 3056, RFC 4380, RFC 3849, RFC 2544). URL parsing: WHATWG URL Standard §3.5
 * (IPv4 parser). Cloud metadata endpoints: AWS IMDS (169.254.169.254, fd00:ec2::254), ECS/EKS
 * agent (169.254.170.2, 169.254.170.23), Alibaba (100.100.100.200), Oracle (192.0.0.192).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { SourceError, UsageError } from './errors.ts';
import { redactError, redactSecrets, redactUrl } from './redact.ts';

/** Why an address or URL is refused. */
export type UrlRefusal =
  | 'scheme'
  | 'credentials'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'cgnat'
  | 'this-network'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

export type AddressClass = 'public' | Exclude<UrlRefusal, 'scheme' | 'credentials'>;

/** Classes that `allowPrivateNetwork` lets through (tests on 127.0.0.1, lab networks). */
const PRIVATE_NETWORK_CLASSES: ReadonlySet<AddressClass> = new Set(['loopback', 'private', 'link-local', 'cgnat']);

/** Whether a target or disk reference is a URL (`scheme://…`) rather than a local path. */
export function isUrl(spec: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(spec);
}

/**
 * Whether allowing http and private networks would let this refusal through. The policy names
 * no switch in its messages (the API, the CLI and config files each have their own); callers
 * add theirs when this is true.
 */
export function relaxableRefusal(reason: UrlRefusal): boolean {
  return reason === 'scheme' || PRIVATE_NETWORK_CLASSES.has(reason as AddressClass);
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface UrlPolicy {
  /** Allow plain http (tests, labs). Default: https only. */
  allowHttp?: boolean;
  /**
   * Allow loopback, private (RFC 1918, ULA), link-local and CGNAT addresses: tests against
   * 127.0.0.1 and lab networks. Cloud metadata, multicast, broadcast, unspecified and reserved
   * addresses stay refused.
   */
  allowPrivateNetwork?: boolean;
  /** Resolver used to vet host names (default: the system resolver, every address). */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

/** A URL that passed the policy, with the addresses its connections must use. */
export interface VettedUrl {
  url: URL;
  /** Host name without IPv6 brackets, as node:http expects it. */
  hostname: string;
  /** Every address the name resolved to; all passed the policy. */
  addresses: ResolvedAddress[];
}

/** The URL is refused by the policy; `reason` says which rule. */
export class UrlPolicyError extends UsageError {
  readonly reason: UrlRefusal;
  constructor(message: string, reason: UrlRefusal) {
    super(message);
    this.reason = reason;
  }
}

/** A host name resolving to more addresses than this is refused (they are all vetted and pinned). */
const MAX_RESOLVED_ADDRESSES = 64;

/**
 * Throws UrlPolicyError unless `url` may be fetched under `policy`; returns the URL with the
 * vetted addresses to pin connections to. Messages show only scheme://host/path.
 */
export async function assertAllowedUrl(url: string | URL, policy: UrlPolicy = {}): Promise<VettedUrl> {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? new URL(url.href) : new URL(url);
  } catch {
    // The parser's own error carries the input (`input` property): never keep it.
    throw new UsageError(`not a valid URL: ${redactUrl(String(url))}`);
  }
  const shown = redactUrl(parsed);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && policy.allowHttp)) {
    throw new UrlPolicyError(`${shown}: only https URLs are allowed`, 'scheme');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new UrlPolicyError(`${shown}: credentials in the URL are not supported; use a signed (SAS / presigned) URL`, 'credentials');
  }
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (hostname === '') throw new UrlPolicyError(`${shown}: the URL has no host`, 'reserved');

  let addresses: ResolvedAddress[];
  const literal = isIP(hostname);
  if (literal !== 0) {
    addresses = [{ address: hostname, family: literal === 4 ? 4 : 6 }];
  } else {
    addresses = await resolveAll(hostname, shown, policy);
  }
  for (const a of addresses) {
    const cls = classifyAddress(a.address);
    if (cls === 'public') continue;
    if (policy.allowPrivateNetwork && PRIVATE_NETWORK_CLASSES.has(cls)) continue;
    const via = literal !== 0 ? '' : ` (${hostname} resolves to ${a.address})`;
    throw new UrlPolicyError(`${shown}: refusing a ${cls} address${via}`, cls);
  }
  return { url: parsed, hostname, addresses };
}

async function resolveAll(hostname: string, shown: string, policy: UrlPolicy): Promise<ResolvedAddress[]> {
  let found: ResolvedAddress[];
  try {
    if (policy.resolve) {
      found = await policy.resolve(hostname);
    } else {
      const answers = await dnsLookup(hostname, { all: true, order: 'verbatim' });
      found = answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
    }
  } catch (err) {
    throw new SourceError(`${shown}: cannot resolve ${hostname}: ${redactSecrets((err as Error).message ?? String(err))}`, {
      cause: redactError(err),
    });
  }
  if (found.length === 0) throw new SourceError(`${shown}: ${hostname} resolved to no address`);
  if (found.length > MAX_RESOLVED_ADDRESSES) {
    throw new SourceError(`${shown}: ${hostname} resolved to ${found.length} addresses (limit ${MAX_RESOLVED_ADDRESSES})`);
  }
  for (const a of found) {
    const fam = isIP(a.address);
    if (fam === 0 || fam !== a.family) throw new SourceError(`${shown}: resolver returned a malformed address for ${hostname}`);
  }
  return found;
}

/**
 * A `lookup` for node:net that answers only `hostname`, only with the vetted addresses: the
 * connection cannot be steered elsewhere by a later DNS answer (DNS rebinding).
 */
export function pinnedLookup(vetted: VettedUrl): LookupFunction {
  return (host: string, options: LookupOptions, callback) => {
    if (host.toLowerCase() !== vetted.hostname.toLowerCase()) {
      const err: NodeJS.ErrnoException = new Error(`lookup of ${host} is not pinned (expected ${vetted.hostname})`);
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const list = vetted.addresses.filter((a) => !family || a.family === family);
    const first = list[0];
    if (first === undefined) {
      const err: NodeJS.ErrnoException = new Error(`no vetted IPv${String(family)} address for ${host}`);
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    if (options.all) {
      callback(null, list.map((a): LookupAddress => ({ address: a.address, family: a.family })));
    } else {
      callback(null, first.address, first.family);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Address classification

interface Range4 {
  base: number;
  bits: number;
  cls: AddressClass;
}

/** Most specific first: the first match wins. */
const IPV4_RANGES: readonly Range4[] = [
  r4('169.254.169.254', 32, 'metadata'),
  r4('169.254.170.2', 32, 'metadata'),
  r4('169.254.170.23', 32, 'metadata'),
  r4('100.100.100.200', 32, 'metadata'),
  r4('192.0.0.192', 32, 'metadata'),
  r4('0.0.0.0', 32, 'unspecified'),
  r4('255.255.255.255', 32, 'broadcast'),
  r4('0.0.0.0', 8, 'this-network'),
  r4('10.0.0.0', 8, 'private'),
  r4('100.64.0.0', 10, 'cgnat'),
  r4('127.0.0.0', 8, 'loopback'),
  r4('169.254.0.0', 16, 'link-local'),
  r4('172.16.0.0', 12, 'private'),
  r4('192.0.0.0', 24, 'reserved'),
  r4('192.0.2.0', 24, 'reserved'),
  r4('192.88.99.0', 24, 'reserved'),
  r4('192.168.0.0', 16, 'private'),
  r4('198.18.0.0', 15, 'reserved'),
  r4('198.51.100.0', 24, 'reserved'),
  r4('203.0.113.0', 24, 'reserved'),
  r4('224.0.0.0', 4, 'multicast'),
  r4('240.0.0.0', 4, 'reserved'),
];

function r4(dotted: string, bits: number, cls: AddressClass): Range4 {
  return { base: parseIpv4(dotted), bits, cls };
}

function parseIpv4(dotted: string): number {
  const parts = dotted.split('.');
  let v = 0;
  for (const p of parts) v = v * 256 + Number(p);
  return v >>> 0;
}

function classifyIpv4(v: number): AddressClass {
  for (const r of IPV4_RANGES) {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    if (((v & mask) >>> 0) === r.base) return r.cls;
  }
  return 'public';
}

interface Range6 {
  base: bigint;
  bits: number;
  cls: AddressClass | 'embedded-v4-low' | 'embedded-v4-6to4';
}

/** Most specific first. "embedded" ranges carry an IPv4 address that decides the class. */
const IPV6_RANGES: readonly Range6[] = [
  r6('::', 128, 'unspecified'),
  r6('::1', 128, 'loopback'),
  r6('fd00:ec2::254', 128, 'metadata'),
  r6('::ffff:0:0', 96, 'embedded-v4-low'), // IPv4-mapped (RFC 4291 §2.5.5.2)
  r6('64:ff9b::', 96, 'embedded-v4-low'), // NAT64 well-known prefix (RFC 6052)
  r6('64:ff9b:1::', 48, 'private'), // local-use NAT64 (RFC 8215)
  r6('2002::', 16, 'embedded-v4-6to4'), // 6to4 (RFC 3056)
  r6('2001::', 32, 'reserved'), // Teredo (RFC 4380): the peer is hidden behind an obfuscated address
  r6('2001:db8::', 32, 'reserved'), // documentation (RFC 3849)
  r6('100::', 64, 'reserved'), // discard-only (RFC 6666)
  r6('::', 8, 'reserved'), // IPv4-compatible and other legacy forms
  r6('fc00::', 7, 'private'), // unique local (RFC 4193)
  r6('fe80::', 10, 'link-local'),
  r6('fec0::', 10, 'private'), // deprecated site-local (RFC 3879)
  r6('ff00::', 8, 'multicast'),
  r6('2000::', 3, 'public'), // global unicast
  r6('::', 0, 'reserved'), // everything else is unallocated
];

function r6(text: string, bits: number, cls: Range6['cls']): Range6 {
  return { base: parseIpv6(text), bits, cls };
}

const ALL_ONES_128 = (1n << 128n) - 1n;

function classifyIpv6(v: bigint): AddressClass {
  for (const r of IPV6_RANGES) {
    const mask = r.bits === 0 ? 0n : (ALL_ONES_128 << BigInt(128 - r.bits)) & ALL_ONES_128;
    if ((v & mask) !== r.base) continue;
    if (r.cls === 'embedded-v4-low') return classifyIpv4(Number(v & 0xffffffffn));
    if (r.cls === 'embedded-v4-6to4') return classifyIpv4(Number((v >> 80n) & 0xffffffffn));
    return r.cls;
  }
  return 'reserved';
}

/** Parses a textual IPv6 address (validated by net.isIP) into a 128-bit integer. */
function parseIpv6(text: string): bigint {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const groups: number[] = [];
  // A trailing dotted quad stands for the last two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - rest.length;
  for (const g of head) groups.push(parseInt(g, 16));
  for (let i = 0; i < fill && halves.length > 1; i++) groups.push(0);
  for (const g of rest) groups.push(parseInt(g, 16));
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g & 0xffff);
  return v;
}

/** The class of one textual address (IPv4 or IPv6); 'reserved' for anything unparseable. */
export function classifyAddress(address: string): AddressClass {
  const fam = isIP(address.split('%')[0] ?? '');
  if (fam === 4) return classifyIpv4(parseIpv4(address));
  if (fam === 6) return classifyIpv6(parseIpv6(address));
  return 'reserved';
}
