/**
 * The media service and its CDN edges as their own process (local world,
 * containers, compose). Configuration from the environment:
 *   CHATLAB_SECRET (required: the cluster's token key, which also signs upload URLs),
 *   CHATLAB_MEDIA_S3 (the S3 endpoint, e.g. http://127.0.0.1:8333; absent: objects in this process's memory),
 *   CHATLAB_MEDIA_BUCKET (chatlab-media), CHATLAB_MEDIA_PORT (0 = free), CHATLAB_HOST (127.0.0.1),
 *   and the options of every world (media-world.ts mediaOptionsFromEnv): CHATLAB_MEDIA_EDGES (2),
 *   CHATLAB_MEDIA_EDGE_BYTES (268435456), CHATLAB_MEDIA_RETENTION_MS (30 days), CHATLAB_MEDIA_SWEEP_MS (60000),
 *   CHATLAB_MEDIA_MAX_BYTES (104857600).
 * Prints one JSON line `{"ready":true,"url":…,"edges":[…]}` when listening. SIGTERM: closes and exits.
 */
import { TokenIssuer } from '../auth/tokens.ts';
import { WallClock } from '../clock/clock-wall.ts';
import type { BlobStore } from './blob-store.ts';
import { MemoryBlobStore } from './blob-store-memory.ts';
import { S3BlobStore } from './blob-store-s3.ts';
import { MediaWorld, mediaOptionsFromEnv } from './media-world.ts';

const secret = process.env.CHATLAB_SECRET;
if (!secret) {
  process.stderr.write('media-process: missing CHATLAB_SECRET\n');
  process.exit(2);
}
const clock = new WallClock();
const s3 = process.env.CHATLAB_MEDIA_S3;
const store: BlobStore = s3 ? await S3BlobStore.open({ endpoint: s3, bucket: process.env.CHATLAB_MEDIA_BUCKET ?? 'chatlab-media' }) : new MemoryBlobStore(clock);
const host = process.env.CHATLAB_HOST ?? '127.0.0.1';
const media = await MediaWorld.start(store, {
  ...mediaOptionsFromEnv(), clock, tokens: new TokenIssuer(secret, clock), secret, host, port: Number(process.env.CHATLAB_MEDIA_PORT ?? 0),
});
const { service, edges } = media.endpoints;
process.stdout.write(`${JSON.stringify({ ready: true, url: service, edges, store: s3 ? 's3' : 'memory' })}\n`);
const stop = () => void media.stop().then(() => store.close()).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
