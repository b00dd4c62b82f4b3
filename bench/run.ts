/**
 * npm run bench — disk-stack benchmarks on the example node disk (Debian bookworm, GPT/ext4),
 * every figure beside a baseline measured in the same run:
 *  - sequential read of the whole virtual disk through each container decoder, as a ratio to
 *    plain positional fs reads of the raw image (same 4 MiB request size);
 *  - random 4 KiB read latency (median, p99) through each decoder and through the raw file;
 *  - bytes read from the medium per decoder (what a decoder costs in I/O);
 *  - an HTTP range source served from localhost, as a ratio to the local file.
 * Not a test: nothing here asserts. Figures go to docs/benchmarks.md.
 */
import { createServer } from 'node:http';
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { FileSource } from '../src/disk/file-source.ts';
import { HttpSource } from '../src/disk/http-source.ts';
import { openContainer } from '../src/disk/containers/open.ts';
import type { BlockSource } from '../src/disk/index.ts';
import { containerImage, nodeDisk, CONTAINER_FORMATS } from '../test/fixtures/node-image.ts';
import { prng } from '../test/helpers/fuzz.ts';

const CHUNK = 4 * 1024 * 1024;
const RANDOM_READS = 400;
const MB = 1e6;

async function seqPlain(path: string, size: number): Promise<number> {
  const fh = await open(path, 'r');
  const buf = new Uint8Array(CHUNK);
  const t0 = performance.now();
  for (let off = 0; off < size; off += CHUNK) await fh.read(buf, 0, Math.min(CHUNK, size - off), off);
  const s = (performance.now() - t0) / 1000;
  await fh.close();
  return size / s / MB;
}

async function seqSource(src: BlockSource, limit = src.size): Promise<number> {
  const t0 = performance.now();
  for (let off = 0; off < limit; off += CHUNK) await src.read(off, Math.min(CHUNK, limit - off));
  return limit / ((performance.now() - t0) / 1000) / MB;
}

async function randomLatency(src: BlockSource): Promise<{ median: number; p99: number }> {
  const rnd = prng(42);
  const times: number[] = [];
  for (let i = 0; i < RANDOM_READS; i++) {
    const off = Math.floor((rnd() * (src.size - 4096)) / 4096) * 4096;
    const t0 = performance.now();
    await src.read(off, 4096);
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

async function openDecoded(path: string): Promise<{ disk: BlockSource; medium: FileSource; format: string }> {
  const medium = await FileSource.open(path);
  const dir = dirname(path);
  const c = await openContainer(medium, { openSibling: async (n) => FileSource.open(join(dir, basename(n))) });
  return { disk: c.source, medium, format: c.format };
}

async function main(): Promise<void> {
  const raw = await nodeDisk('gpt-ext4');
  const rawFile = await FileSource.open(raw);
  const size = rawFile.size;
  await seqPlain(raw, size); // warm the page cache: every figure is a warm-cache figure
  const baseline = await seqPlain(raw, size);
  const rawLat = await randomLatency(rawFile);
  console.log(`example node disk: ${raw} (${(size / 2 ** 20).toFixed(0)} MiB virtual)`);
  console.log(`baseline: plain fs reads of the raw image ${baseline.toFixed(0)} MB/s; random 4 KiB median ${rawLat.median.toFixed(1)} µs\n`);
  console.log('| format | sequential MB/s | ratio to raw fs reads | bytes read from medium / virtual size | random 4 KiB median µs | p99 µs |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const format of CONTAINER_FORMATS) {
    const path = await containerImage(raw, format);
    const warm = await FileSource.open(path);
    await seqPlain(path, warm.size); // warm the page cache for this container file too
    await warm.close();
    const { disk, medium } = await openDecoded(path);
    const mbps = await seqSource(disk);
    const bytes = medium.stats().bytesRead;
    const lat = await randomLatency(disk);
    console.log(`| ${format} | ${mbps.toFixed(0)} | ${(mbps / baseline).toFixed(2)} | ${(bytes / size).toFixed(2)} | ${lat.median.toFixed(1)} | ${lat.p99.toFixed(1)} |`);
    await medium.close();
  }

  // HTTP range reads from a localhost server, against the local file over the same bytes.
  const server = createServer((req, res) => {
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', '"bench"');
    if (req.method === 'HEAD' || !m) {
      res.setHeader('Content-Length', size);
      res.end();
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1);
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
    createReadStream(raw, { start, end }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const http = await HttpSource.open(`http://127.0.0.1:${port}/disk.img?sig=not-a-secret`, { allowHttp: true, allowPrivateNetwork: true });
  const limit = Math.min(size, 512 * 2 ** 20);
  const local = await seqSource(rawFile, limit);
  const remote = await seqSource(http, limit);
  console.log(`\nHTTP range source (localhost, ${limit / 2 ** 20} MiB in 4 MiB reads): ${remote.toFixed(0)} MB/s vs local file ${local.toFixed(0)} MB/s — time ratio ${(local / remote).toFixed(2)}× local`);
  await http.close();
  server.close();
  await rawFile.close();
}

await main();
