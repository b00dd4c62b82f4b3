import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseSize } from '../../src/cli/units.ts';
import { UsageError } from '../../src/util/errors.ts';

describe('option values with units', () => {
  it('sizes are binary like ClamAV’s (25M = 25 MiB); a bare number is bytes', () => {
    assert.equal(parseSize('4096', '--x'), 4096);
    assert.equal(parseSize('512K', '--x'), 512 * 1024);
    assert.equal(parseSize('25M', '--x'), 25 * 1024 * 1024);
    assert.equal(parseSize('1GiB', '--x'), 1024 ** 3);
    assert.equal(parseSize(' 2g ', '--x'), 2 * 1024 ** 3);
  });
  it('a size without digits, with an unknown unit or past 2^53 is a usage error naming the flag', () => {
    for (const bad of ['', 'M', '1.5G', '10X', '-1', '999999999999999T']) {
      assert.throws(() => parseSize(bad, '--max-file-size'), (e: unknown) => e instanceof UsageError && e.message.startsWith('--max-file-size'), bad);
    }
  });
  it('durations take ms, s, m, h, d, w', () => {
    assert.equal(parseDuration('250ms', '--t'), 250);
    assert.equal(parseDuration('60s', '--t'), 60_000);
    assert.equal(parseDuration('5m', '--t'), 300_000);
    assert.equal(parseDuration('72h', '--t'), 72 * 3_600_000);
    assert.equal(parseDuration('1w', '--t'), 604_800_000);
    assert.throws(() => parseDuration('1y', '--malware-time-budget'), /--malware-time-budget expects/);
    assert.throws(() => parseDuration('10', '--t'), UsageError);
  });
});
