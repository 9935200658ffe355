import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { FrameWriter, headerSize } from './frame-writer.ts';

/** A real ws server whose one connection writes through a FrameWriter, and a real ws client reading it. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket; received: string[]; closed: Promise<number>; stop(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  const received: string[] = [];
  client.on('message', (data, isBinary) => received.push(isBinary ? '<binary>' : data.toString()));
  const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
  await new Promise<void>((r, j) => (client.once('open', () => r()), client.once('error', j)));
  const server = await accepted;
  return {
    server, client, received, closed,
    stop: async () => {
      client.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** Runs `test` with a fresh connected pair and a FrameWriter, and always tears the pair down. */
async function withPair(test: (p: Awaited<ReturnType<typeof pair>>, out: FrameWriter) => Promise<void>): Promise<void> {
  const p = await pair();
  try {
    await test(p, new FrameWriter());
  } finally {
    await p.stop();
  }
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('FrameWriter', () => {
  it('sizes frame headers as RFC 6455 does (7-bit, 16-bit and 64-bit lengths)', () => {
    assert.deepEqual([0, 125, 126, 65535, 65536].map(headerSize), [2, 2, 4, 4, 10]);
  });

  it('writes one turn of frames of every length class, UTF-8 included, that a ws client reads in order', () =>
    withPair(async (p, out) => {
      const frames = ['', 'a', 'x'.repeat(125), 'é'.repeat(63) + '€', 'y'.repeat(126), '€'.repeat(30_000), 'z'.repeat(70_000), JSON.stringify({ t: 'msg', body: 'héllo 👋' })];
      for (const f of frames) out.send(p.server, f);
      // Nothing is written within the turn: the frames leave together after it.
      assert.equal(p.server.bufferedAmount, 0);
      await until(() => p.received.length === frames.length);
      assert.deepEqual(p.received, frames);
    }));

  it('counts queued bytes in what it reports as waiting (for slow-consumer checks)', () =>
    withPair(async (p, out) => {
      assert.equal(out.send(p.server, 'abc'), 3);
      assert.equal(out.send(p.server, '€'), 6);
    }));

  it('flushes queued frames ahead of a close frame', () =>
    withPair(async (p, out) => {
      out.send(p.server, 'first');
      out.send(p.server, 'second');
      out.flush(p.server);
      p.server.close(4408, 'slow consumer');
      assert.equal(await p.closed, 4408);
      assert.deepEqual(p.received, ['first', 'second']);
    }));

  it('drops frames queued for a socket that closed before the turn ended', () =>
    withPair(async (p, out) => {
      out.send(p.server, 'lost');
      p.server.close(1001, 'bye');
      assert.equal(await p.closed, 1001);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(p.received, []);
    }));
});
