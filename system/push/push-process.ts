/** The push service as its own process (local world, compose). Prints one JSON ready line. Env: CHATLAB_PUSH_PORT (0), CHATLAB_HOST (127.0.0.1). */
import { PushService } from './push-service.ts';

const push = new PushService();
await push.listen(Number(process.env.CHATLAB_PUSH_PORT ?? 0), process.env.CHATLAB_HOST ?? '127.0.0.1');
process.stdout.write(`${JSON.stringify({ ready: true, url: push.url, port: push.port })}\n`);
const stop = () => void push.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
