/**
 * A minimal HTTP range server for the disk benchmark, run as its own process (bench/disk.ts
 * spawns it) so that serving does not share the client's event loop or CPU time slices.
 *
 * Usage: node bench/http-server.ts <file>. Listens on 127.0.0.1 (loopback only), prints
 * `listening <port>` on stdout, serves `Range: bytes=a-b` with 206 and HEAD with the size, and
 * exits when its stdin closes (the parent exited) or on SIGTERM.
 */
import { createServer } from 'node:http';
import { open } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';

/** Largest range served by one response; the client's parts are 4 MiB. */
const MAX_RANGE_BYTES = 64 * 1024 * 1024;

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: node bench/http-server.ts <file>');
  const fh = await open(path, 'r');
  const size = (await fh.stat()).size;
  const server = createServer((req, res) => {
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', '"bench"');
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.method === 'HEAD' || !m) {
      res.setHeader('Content-Length', size);
      res.end();
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1, start + MAX_RANGE_BYTES - 1);
    if (start > end) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    const length = end - start + 1;
    // One positional read into one buffer and one write: the server's cost stays near a memcpy.
    const buf = Buffer.allocUnsafe(length);
    fh.read(buf, 0, length, start).then(
      ({ bytesRead }) => {
        res.writeHead(206, { 'Content-Range': `bytes ${start}-${start + bytesRead - 1}/${size}`, 'Content-Length': bytesRead });
        res.end(buf.subarray(0, bytesRead));
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void fh.close();
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

await main();
