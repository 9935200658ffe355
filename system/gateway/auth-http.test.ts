import assert from 'node:assert/strict';
import { request } from 'node:http';
import { EmbeddedCluster } from '../worlds/embedded.ts';
import type { GatewayOptions } from './gateway.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { code?: string; message?: string; retryAfterMs?: number; [k: string]: unknown };
}

/** One POST over its own connection, from `localAddress` (any of 127.0.0.0/8); a reset rejects. */
function post(port: number, path: string, body: string | Buffer, localAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP sign-in endpoints: limits and validation', function () {
  this.timeout(20_000);
  let cluster: EmbeddedCluster;
  const start = async (gateway: Partial<GatewayOptions> = {}) => {
    cluster = await EmbeddedCluster.start({ nodes: 1, gateway });
    return cluster.nodes[0]!.port;
  };
  afterEach(async () => cluster?.stop());

  it('answers a 10 MB POST with a complete 413 too_large, not a reset', async () => {
    const port = await start();
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    for (const path of ['/auth/request', '/auth/verify']) {
      const r = await post(port, path, big);
      assert.equal(r.status, 413);
      assert.equal(r.body.code, 'too_large');
    }
    const ok = await post(port, '/auth/request', JSON.stringify({ phone: '+15550001111' }));
    assert.equal(ok.status, 200, 'the gateway still serves');
  });

  it('answers a body past the discard limit with 413 and then closes the connection', async () => {
    const port = await start({ httpDiscardMaxBytes: 64 * 1024 });
    const r = await post(port, '/auth/request', Buffer.alloc(48 * 1024, 0x61));
    assert.equal(r.status, 413);
    const declared = await post(port, '/auth/request', Buffer.alloc(1024 * 1024, 0x61)).catch((e: Error) => e);
    if (!(declared instanceof Error)) assert.equal(declared.status, 413);
  });

  it('limits requests per phone with 429, a retry-after header and retryAfterMs; other phones go on', async () => {
    const port = await start({ authPhoneBurst: 2, authPhonePerMin: 6 });
    const ask = (phone: string) => post(port, '/auth/request', JSON.stringify({ phone }));
    assert.equal((await ask('+15550001111')).status, 200);
    assert.equal((await ask('+15550001111')).status, 200);
    const limited = await ask('+15550001111');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'rate_limited');
    assert.ok(limited.body.retryAfterMs! > 0 && limited.body.retryAfterMs! <= 10_000, `retryAfterMs ${limited.body.retryAfterMs}`);
    assert.equal(limited.headers['retry-after'], String(Math.ceil(limited.body.retryAfterMs! / 1000)));
    assert.equal((await ask('+15550002222')).status, 200, 'another phone is not starved');
  });

  it('limits verify attempts per phone apart from code requests', async () => {
    const port = await start({ authPhoneBurst: 2 });
    const code = (await post(port, '/auth/request', JSON.stringify({ phone: '+15550003333' }))).body.code as string;
    const wrong = code === '000000' ? '111111' : '000000';
    const verify = (c: string) => post(port, '/auth/verify', JSON.stringify({ phone: '+15550003333', code: c }));
    assert.equal((await verify(wrong)).status, 401);
    assert.equal((await verify(wrong)).status, 401);
    assert.equal((await verify(code)).status, 429);
  });

  it('limits requests per source address; another address goes on', async () => {
    const port = await start({ authAddressBurst: 3, authAddressPerMin: 60 });
    const ask = (n: number, from: string) => post(port, '/auth/request', JSON.stringify({ phone: `+1555000${1000 + n}` }), from);
    for (let i = 0; i < 3; i++) assert.equal((await ask(i, '127.0.0.1')).status, 200);
    const limited = await ask(9, '127.0.0.1');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((await ask(10, '127.0.0.2')).status, 200);
  });

  const bad: [string, string, unknown, string][] = [
    ['/auth/request', 'a phone that is missing', {}, 'phone'],
    ['/auth/request', 'a phone that is a number', { phone: 15550001111 }, 'phone'],
    ['/auth/request', 'a phone with letters', { phone: '+1555abc1111' }, 'phone'],
    ['/auth/request', 'a body that is not JSON', '{oops', 'body'],
    ['/auth/request', 'a body that is an array', ['+15550001111'], 'body'],
    ['/auth/request', 'a body that is null', null, 'body'],
    ['/auth/verify', 'a code that is a number', { phone: '+15550001111', code: 123456 }, 'code'],
    ['/auth/verify', 'a code of letters', { phone: '+15550001111', code: 'abcdef' }, 'code'],
    ['/auth/verify', 'a code of 7 digits', { phone: '+15550001111', code: '1234567' }, 'code'],
    ['/auth/verify', 'device 0', { phone: '+15550001111', code: '123456', device: 0 }, 'device'],
    ['/auth/verify', 'device 1000', { phone: '+15550001111', code: '123456', device: 1000 }, 'device'],
    ['/auth/verify', 'device 1.5', { phone: '+15550001111', code: '123456', device: 1.5 }, 'device'],
    ['/auth/verify', 'device "2" (a string)', { phone: '+15550001111', code: '123456', device: '2' }, 'device'],
    ['/auth/verify', 'device true', { phone: '+15550001111', code: '123456', device: true }, 'device'],
    ['/auth/verify', 'a __proto__ body', JSON.parse('{"__proto__":{"phone":"+15550001111"},"phone":{}}'), 'phone'],
  ];
  it('answers every malformed field with 400 bad_frame naming it, never a 500', async () => {
    const port = await start({ authAddressBurst: 1000 });
    for (const [path, what, body, field] of bad) {
      const r = await post(port, path, typeof body === 'string' ? body : JSON.stringify(body));
      assert.equal(r.status, 400, `${path} ${what}: status ${r.status}`);
      assert.equal(r.body.code, 'bad_frame', `${path} ${what}`);
      assert.match(r.body.message!, new RegExp(`^${field}\\b`), `${path} ${what}: ${r.body.message}`);
    }
  });
});
