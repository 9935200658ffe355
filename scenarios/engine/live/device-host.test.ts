import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connectSharedReads } from './device-host.ts';

describe("A device socket's reads (connectSharedReads)", function () {
  this.timeout(30_000);

  it('hands ws every frame intact, frames split across reads of the one buffer included, and the close', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    server.on('connection', async (ws) => {
      // Small frames, a few to a read, around a frame of 300 KiB: it spans several 64 KiB reads, so ws holds part
      // of it while the next read lands in the same buffer. Without a copy of each read, its bytes would be
      // overwritten.
      const pace = () => new Promise((r) => setTimeout(r, 1));
      for (let i = 0; i < 300; i++) {
        ws.send(`small ${i}`);
        if (i % 10 === 9) await pace();
      }
      ws.send(big);
      for (let i = 300; i < 600; i++) ws.send(`small ${i}`);
      ws.close(4001, 'done');
    });
    const chunks: Buffer[] = [];
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new WebSocket(url, {
      perMessageDeflate: false,
      createConnection: ((options: net.NetConnectOpts) => {
        const socket = connectSharedReads(options);
        socket.on('data', (c: Buffer) => chunks.push(c));
        return socket;
      }) as never,
    });
    const got: (string | Buffer)[] = [];
    client.on('message', (data: Buffer, binary) => got.push(binary ? Buffer.from(data) : data.toString()));
    const [code] = (await once(client, 'close')) as [number];
    server.close();

    assert.equal(code, 4001);
    assert.equal(got.length, 601);
    for (let i = 0; i < 300; i++) assert.equal(got[i], `small ${i}`);
    assert.ok(Buffer.isBuffer(got[300]) && got[300].equals(big), 'the 300 KiB frame arrived intact');
    for (let i = 300; i < 600; i++) assert.equal(got[i + 1], `small ${i}`);
    // Small reads are copies in Node's shared pool, not an ArrayBuffer of their own each (what the young
    // generation's collections would sweep); the one read buffer itself is never handed on.
    const small = chunks.filter((c) => c.length < Buffer.poolSize >>> 1);
    assert.ok(small.length > 0);
    for (const c of small) assert.equal(c.buffer.byteLength, Buffer.poolSize);
    assert.ok(small.length >= 10, `${small.length} small reads`);
    assert.ok(new Set(small.map((c) => c.buffer)).size < small.length / 2, 'small reads share pool slabs');
  });
});
