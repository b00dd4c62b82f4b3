/** mapBounded: results in item order, never more than `limit` calls pending, failures surface. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { mapBounded } from '../../src/analyze/bounded.ts';

test('mapBounded keeps item order, caps the calls in flight and runs every item once', async () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  let inFlight = 0;
  let peak = 0;
  const calls: number[] = [];
  // Later items finish sooner, so completion order differs from item order.
  const got = await mapBounded(items, 4, async (x, i) => {
    assert.equal(x, i);
    calls.push(x);
    inFlight++;
    peak = Math.max(peak, inFlight);
    for (let k = 0; k < (50 - x) % 7; k++) await tick();
    inFlight--;
    return x * 2;
  });
  assert.deepEqual(got, items.map((x) => x * 2));
  assert.equal(peak, 4);
  assert.deepEqual([...calls].sort((a, b) => a - b), items);
  assert.deepEqual(await mapBounded([], 8, async () => 1), []);
  // A limit below 1 still makes progress, one at a time.
  assert.deepEqual(await mapBounded([1, 2, 3], 0, async (x) => x + 1), [2, 3, 4]);
});

test('mapBounded rejects with the failure, starts no call after it and lets the started ones settle', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapBounded([0, 1, 2, 3, 4, 5, 6, 7], 2, async (x) => {
      started.push(x);
      await tick();
      if (x !== 1) await tick();
      settled++;
      if (x === 1) throw new RangeError('boom');
      return x;
    }),
    RangeError,
  );
  // 0 and 1 start together; 1 fails first, so only 0 (already running) and nothing new.
  assert.deepEqual(started, [0, 1]);
  assert.equal(settled, 2);
});
