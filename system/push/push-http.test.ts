import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { wallHarness } from '../testing/harness.ts';
import { HttpPush } from './push-http.ts';
import { PushService } from './push-service.ts';
import type { PushReason, PushSubscriber } from './push.ts';
import { runPushSuite } from './push.suite.ts';

/**
 * The HTTP client against the real push service in this process, on a
 * loopback port of its own: wake-ups go out as POSTs to `/wake` and come
 * back over one `/subscribe` WebSocket, the way a device-side driver hears them.
 */
runPushSuite('http', async () => {
  const service = new PushService();
  await service.listen(0, '127.0.0.1');
  const subscribers = new Set<PushSubscriber>();
  const ws = new WebSocket(service.subscribeUrl);
  ws.on('message', (data) => {
    const { device, reason } = JSON.parse(String(data)) as { device: string; reason: PushReason };
    for (const s of subscribers) s(device, reason);
  });
  await once(ws, 'open');
  return {
    ...wallHarness(),
    push: new HttpPush({ url: service.url }),
    subscribe: (s) => {
      subscribers.add(s);
      return () => void subscribers.delete(s);
    },
    close: async () => {
      ws.close();
      await service.close();
    },
  };
});

describe('PushService /wake', () => {
  it('refuses a batch holding a wake of an unknown reason with 400, relaying none of it', async () => {
    const service = new PushService();
    await service.listen(0, '127.0.0.1');
    try {
      const post = (body: unknown) => fetch(`${service.url}/wake`, { method: 'POST', body: JSON.stringify(body) });
      const refused = await post([{ device: 'a.1', reason: 'call' }, { device: 'a.1', reason: 'bogus' }]);
      assert.equal(refused.status, 400);
      assert.equal((await refused.json() as { code: string }).code, 'bad_frame');
      assert.equal((await post([{ reason: 'msg' }])).status, 400, 'a wake without a device');
      assert.equal(service.stats.wakes, 0);
      assert.equal((await post([{ device: 'a.1', reason: 'call' }])).status, 204);
      assert.equal(service.stats.wakes, 1);
    } finally {
      await service.close();
    }
  });
});
