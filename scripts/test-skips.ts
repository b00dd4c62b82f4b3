/**
 * node:test reporter that records every skipped test or suite as one JSON line
 * ({ file, name, reason }) for scripts/test-unit.ts, which counts them and, in CI, fails the run
 * on any skip outside its allow-list. Used as a second reporter next to `spec`.
 */
import type { TestEvent } from 'node:test/reporters';

export default async function* skipReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data as { name: string; file?: string; skip?: string | boolean; todo?: string | boolean };
    if (data.skip === undefined || data.skip === false) continue;
    yield JSON.stringify({ file: data.file ?? '', name: data.name, reason: typeof data.skip === 'string' ? data.skip : '' }) + '\n';
  }
}
