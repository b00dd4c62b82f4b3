import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns';
import { promisify } from 'node:util';
import { inspect } from 'node:util';
import {
  assertAllowedUrl,
  classifyAddress,
  pinnedLookup,
  UrlPolicyError,
  type ResolvedAddress,
  type UrlPolicy,
  type UrlRefusal,
} from '../../src/disk/url-policy.ts';
import { SourceError, UsageError } from '../../src/util/errors.ts';
import { redactSecrets, redactUrl } from '../../src/util/redact.ts';

/** Resolves every name to fixed addresses: no external DNS in tests. */
function fixedResolver(...addresses: string[]): UrlPolicy['resolve'] {
  return async () => addresses.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
}

const REFUSED: Array<[situation: string, url: string, reason: UrlRefusal, policy?: UrlPolicy]> = [
  ['plain http without allowHttp', 'http://8.8.8.8/disk.vhd', 'scheme'],
  ['file URL', 'file:///etc/shadow', 'scheme'],
  ['ftp URL', 'ftp://8.8.8.8/disk', 'scheme'],
  ['gopher URL', 'gopher://8.8.8.8:70/_x', 'scheme'],
  ['credentials in the URL', 'https://user:pw@8.8.8.8/disk.vhd', 'credentials'],
  ['loopback dotted quad', 'https://127.0.0.1/', 'loopback'],
  ['loopback elsewhere in 127/8', 'https://127.45.1.2/', 'loopback'],
  ['loopback as a decimal integer', 'https://2130706433/', 'loopback'],
  ['loopback in hex with a short form', 'https://0x7f.1/', 'loopback'],
  ['loopback in octal', 'https://017700000001/', 'loopback'],
  ['loopback in short dotted form', 'https://127.1/', 'loopback'],
  ['loopback with a trailing dot', 'https://127.0.0.1./', 'loopback'],
  ['loopback with mixed hex octets', 'https://0x7f.0.0.0x1/', 'loopback'],
  ['IPv6 loopback', 'https://[::1]/', 'loopback'],
  ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/', 'loopback'],
  ['IPv4-mapped IPv6 loopback in hex', 'https://[::ffff:7f00:1]/', 'loopback'],
  ['NAT64 prefix carrying loopback', 'https://[64:ff9b::127.0.0.1]/', 'loopback'],
  ['6to4 prefix carrying loopback', 'https://[2002:7f00:1::]/', 'loopback'],
  ['localhost resolved by the system resolver', 'https://localhost/', 'loopback'],
  ['private 10/8', 'https://10.1.2.3/', 'private'],
  ['private 172.16/12 low edge', 'https://172.16.0.1/', 'private'],
  ['private 172.16/12 high edge', 'https://172.31.255.255/', 'private'],
  ['private 192.168/16', 'https://192.168.1.10/', 'private'],
  ['private 10/8 as decimal', 'https://167772161/', 'private'],
  ['unique local IPv6 fc00::/7', 'https://[fd12:3456::1]/', 'private'],
  ['IPv4-mapped private', 'https://[::ffff:10.0.0.1]/', 'private'],
  ['cloud metadata address', 'https://169.254.169.254/latest/meta-data/', 'metadata'],
  ['cloud metadata address in decimal', 'https://2852039166/', 'metadata'],
  ['cloud metadata address IPv4-mapped', 'https://[::ffff:169.254.169.254]/', 'metadata'],
  ['ECS task metadata', 'https://169.254.170.2/v2/credentials', 'metadata'],
  ['AWS IMDS over IPv6', 'https://[fd00:ec2::254]/', 'metadata'],
  ['Alibaba metadata in CGNAT space', 'https://100.100.100.200/', 'metadata'],
  ['link-local IPv4', 'https://169.254.1.1/', 'link-local'],
  ['link-local IPv6', 'https://[fe80::1]/', 'link-local'],
  ['CGNAT 100.64/10', 'https://100.64.0.1/', 'cgnat'],
  ['CGNAT high edge', 'https://100.127.255.255/', 'cgnat'],
  ['unspecified IPv4', 'https://0.0.0.0/', 'unspecified'],
  ['unspecified as a bare zero', 'https://0/', 'unspecified'],
  ['unspecified IPv6', 'https://[::]/', 'unspecified'],
  ['this network 0/8', 'https://0.1.2.3/', 'this-network'],
  ['IPv4 multicast', 'https://224.0.0.1/', 'multicast'],
  ['IPv6 multicast', 'https://[ff02::1]/', 'multicast'],
  ['limited broadcast', 'https://255.255.255.255/', 'broadcast'],
  ['reserved 240/4', 'https://240.0.0.1/', 'reserved'],
  ['documentation range', 'https://192.0.2.10/', 'reserved'],
  ['benchmarking range', 'https://198.18.0.1/', 'reserved'],
  ['IPv6 documentation range', 'https://[2001:db8::1]/', 'reserved'],
  ['IPv4-compatible IPv6', 'https://[::127.0.0.1]/', 'reserved'],
  ['unallocated IPv6', 'https://[4000::1]/', 'reserved'],
  ['a name with one public and one private address', 'https://mixed.example/', 'private', { resolve: fixedResolver('8.8.8.8', '10.0.0.5') }],
  ['a name resolving to the metadata address', 'https://evil.example/', 'metadata', { resolve: fixedResolver('169.254.169.254') }],
  ['metadata stays refused with allowPrivateNetwork', 'https://169.254.169.254/', 'metadata', { allowPrivateNetwork: true }],
  ['unspecified stays refused with allowPrivateNetwork', 'https://0.0.0.0/', 'unspecified', { allowPrivateNetwork: true }],
  ['multicast stays refused with allowPrivateNetwork', 'https://224.0.0.1/', 'multicast', { allowPrivateNetwork: true }],
];

for (const [situation, url, reason, policy] of REFUSED) {
  test(`refused: ${situation} (${reason})`, async () => {
    await assert.rejects(assertAllowedUrl(url, policy ?? {}), (err: unknown) => {
      assert.ok(err instanceof UrlPolicyError, inspect(err));
      assert.equal(err.reason, reason, err.message);
      assert.ok(err instanceof UsageError);
      return true;
    });
  });
}

const ALLOWED: Array<[situation: string, url: string, policy?: UrlPolicy]> = [
  ['public IPv4 over https', 'https://8.8.8.8/disk.vhd?sig=x'],
  ['public IPv6 over https', 'https://[2001:4860:4860::8888]/disk.vhd'],
  ['just below 172.16/12', 'https://172.15.255.255/'],
  ['just above 172.16/12', 'https://172.32.0.1/'],
  ['just above CGNAT', 'https://100.128.0.1/'],
  ['IPv4-mapped public address', 'https://[::ffff:8.8.8.8]/'],
  ['NAT64 of a public address', 'https://[64:ff9b::8.8.8.8]/'],
  ['a name resolving to public addresses only', 'https://acct.blob.core.windows.net/c/d.vhd', { resolve: fixedResolver('20.60.1.1', '2603:1030::1') }],
  ['plain http with allowHttp', 'http://8.8.8.8/', { allowHttp: true }],
  ['loopback with allowPrivateNetwork', 'https://127.0.0.1:8443/', { allowPrivateNetwork: true }],
  ['private with allowPrivateNetwork', 'https://10.0.0.1/', { allowPrivateNetwork: true }],
  ['IPv6 ULA with allowPrivateNetwork', 'https://[fd00::1]/', { allowPrivateNetwork: true }],
];

for (const [situation, url, policy] of ALLOWED) {
  test(`allowed: ${situation}`, async () => {
    const vetted = await assertAllowedUrl(url, policy ?? {});
    assert.ok(vetted.addresses.length > 0);
    assert.ok(!vetted.hostname.startsWith('['), 'hostname without brackets for node:http');
  });
}

test('the refusal message shows scheme://host/path only', async () => {
  const err = await assertAllowedUrl('https://user:topsecretpw@127.0.0.1:9/a/b.vhd?sig=TOPSECRETSIG#frag').catch((e: unknown) => e);
  assert.ok(err instanceof UrlPolicyError);
  assert.equal(err.reason, 'credentials');
  assert.ok(!inspect(err).includes('TOPSECRET'), inspect(err));
  assert.ok(!inspect(err).includes('topsecretpw'), inspect(err));
  assert.match(err.message, /^https:\/\/127\.0\.0\.1:9\/a\/b\.vhd: /);
});

test('an unparseable URL is a UsageError that does not echo the input', async () => {
  const err = await assertAllowedUrl('https://[::1/x?sig=TOPSECRETSIG').catch((e: unknown) => e);
  assert.ok(err instanceof UsageError && !(err instanceof UrlPolicyError));
  assert.ok(!inspect(err).includes('TOPSECRET'), inspect(err));
});

test('a resolver failure is a SourceError naming the host, not the query', async () => {
  const failing: UrlPolicy['resolve'] = async (h) => {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h} https://x/y?sig=TOPSECRETSIG`), { code: 'ENOTFOUND' });
  };
  const err = await assertAllowedUrl('https://nowhere.example/d?sig=TOPSECRETSIG', { resolve: failing }).catch((e: unknown) => e);
  assert.ok(err instanceof SourceError);
  assert.match(err.message, /cannot resolve nowhere\.example/);
  assert.ok(!inspect(err, { depth: 10 }).includes('TOPSECRET'), inspect(err, { depth: 10 }));
});

test('a resolver returning garbage or nothing is refused', async () => {
  await assert.rejects(assertAllowedUrl('https://a.example/', { resolve: async () => [] }), /resolved to no address/);
  await assert.rejects(
    assertAllowedUrl('https://a.example/', { resolve: async () => [{ address: 'not-an-ip', family: 4 }] }),
    /malformed address/,
  );
});

test('the pinned lookup answers only the vetted host with the vetted addresses', async () => {
  const vetted = await assertAllowedUrl('https://acct.blob.core.windows.net/x', { resolve: fixedResolver('20.60.1.1', '2603:1030::1') });
  const pinned = promisify(pinnedLookup(vetted)) as unknown as (host: string, options: object) => Promise<unknown>;
  const one = (host: string, options: object) =>
    new Promise((resolve, reject) =>
      pinnedLookup(vetted)(host, options, (err, address, family) => (err ? reject(err) : resolve({ address, family }))),
    );
  assert.deepEqual(await one('acct.blob.core.windows.net', {}), { address: '20.60.1.1', family: 4 });
  assert.deepEqual(await one('ACCT.blob.core.windows.net', { family: 6 }), { address: '2603:1030::1', family: 6 });
  assert.deepEqual(await pinned('acct.blob.core.windows.net', { all: true }), [
    { address: '20.60.1.1', family: 4 },
    { address: '2603:1030::1', family: 6 },
  ]);
  await assert.rejects(one('other.example', {}), /not pinned/);
});

test('localhost resolves locally (no external DNS) and is refused as loopback', async () => {
  const addrs = await promisify(lookup)('localhost', { all: true });
  assert.ok(addrs.length > 0);
  for (const a of addrs) assert.equal(classifyAddress(a.address), 'loopback');
});

test('classifyAddress edge cases', () => {
  const table: Array<[string, string]> = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['127.255.255.255', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['169.254.169.253', 'link-local'],
    ['192.0.0.192', 'metadata'],
    ['192.0.0.8', 'reserved'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'private'],
    ['2001::1', 'reserved'],
    ['2606:4700::1111', 'public'],
    ['not an address', 'reserved'],
  ];
  for (const [address, cls] of table) assert.equal(classifyAddress(address), cls, address);
});

test('redactUrl keeps scheme, host, port and path only', () => {
  const table: Array<[string, string]> = [
    ['https://acct.blob.core.windows.net/c/abcd?sv=2021-08-06&sig=S3CRET%3D', 'https://acct.blob.core.windows.net/c/abcd'],
    ['https://b.s3.amazonaws.com/k.raw?X-Amz-Signature=S3CRET&X-Amz-Credential=AKIA', 'https://b.s3.amazonaws.com/k.raw'],
    ['https://u:S3CRET@h.example:8443/p#frag', 'https://h.example:8443/p'],
    ['https://[::1/broken?sig=S3CRET', 'https://[::1/broken'],
    ['data:text/plain,S3CRET', 'data:[REDACTED]'],
    ['not a url S3CRET', 'an unparseable URL'],
  ];
  for (const [input, expected] of table) assert.equal(redactUrl(input), expected, input);
  assert.equal(redactUrl(new URL('https://h/p?sig=S3CRET')), 'https://h/p');
});

test('redactSecrets scrubs URLs, bare query strings, secret parameters and auth headers in text', () => {
  const table: string[] = [
    'fetch failed: https://acct.blob.core.windows.net/c/d.vhd?sv=1&sig=S3CRET (ECONNRESET)',
    'request to "http://user:S3CRET@10.0.0.1/x" failed',
    'GET /snapshots/d.vhd?sv=2021&sig=S3CRET HTTP/1.1',
    'signature mismatch: X-Amz-Signature=S3CRET&X-Amz-Credential=S3CRET',
    '{"sig":"S3CRET","token=S3CRET"}',
    '{"X-Amz-Signature": "S3CRET"}',
    'Authorization: Bearer eyS3CRET.abc.def',
    'Authorization: SharedKey acct:S3CRET=',
    'password=S3CRET; user=bob',
  ];
  for (const text of table) {
    const out = redactSecrets(text);
    assert.ok(!out.includes('S3CRET'), `${text} -> ${out}`);
  }
  assert.equal(
    redactSecrets('GET https://a.example/d.vhd?sig=S3CRET failed: ECONNRESET'),
    'GET https://a.example/d.vhd failed: ECONNRESET',
  );
  assert.equal(redactSecrets('read of bytes 0-511 failed: HTTP 503'), 'read of bytes 0-511 failed: HTTP 503');
});
