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
