import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpListener, sendJson as send } from './http-listener.ts';
import { MediaError, type MediaService } from './media-service.ts';

/** Upload request bodies are small JSON. */
const MAX_JSON_BYTES = 4096;

/**
 * The media service over HTTP (documented in docs/media.md):
 *
 *   POST /v1/uploads            {sha256, size, mime} + Bearer token → 200 exists | 201 upload
 *   HEAD /v1/uploads/:id?exp&sig → 200, `upload-offset`: where to resume
 *   PUT  /v1/uploads/:id?exp&sig `upload-offset` + one chunk → 200 {offset} | 201 stored
 *   GET  /v1/media/:key          → the bytes (`x-chatlab-sha256`, `x-chatlab-expires-at`)
 *   GET  /health, GET /stats
 *
 * Every refusal is JSON `{code, message, …}` with its status. A chunk whose
 * connection drops before its last byte counts for nothing: the client
 * asks HEAD where to resume.
 */
export class MediaHttpServer extends HttpListener {
  constructor(readonly service: MediaService) {
    super((req, res) => this.route(req, res));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = this.service;
    try {
      const url = new URL(req.url ?? '/', 'http://media');
      const path = url.pathname;
      if (req.method === 'GET' && path === '/health') return send(res, 200, { ok: true });
      if (req.method === 'GET' && path === '/stats') return send(res, 200, { ...m.stats, pendingUploads: m.pendingUploads });
      if (req.method === 'POST' && path === '/v1/uploads') {
        const device = m.authenticate(req.headers.authorization);
        const grant = await m.requestUpload(device, await readJson(req));
        return send(res, grant.status === 'exists' ? 200 : 201, grant);
      }
      const upload = /^\/v1\/uploads\/([0-9a-f-]{36})$/.exec(path);
      if (upload && (req.method === 'HEAD' || req.method === 'PUT')) {
        const u = m.upload(upload[1]!, url.searchParams.get('exp'), url.searchParams.get('sig'));
        if (req.method === 'HEAD') {
          res.writeHead(200, { 'upload-offset': String(m.offsetOf(u)), 'upload-length': String(u.ref.size), 'cache-control': 'no-store' }).end();
          return;
        }
        const offset = Number(req.headers['upload-offset']);
        const length = Number(req.headers['content-length']);
        m.beginChunk(u, offset, length);
        let bytes: Uint8Array;
        try {
          bytes = await readBody(req, length);
        } catch (e) {
          m.abandonChunk(u);
          throw e;
        }
        const r = await m.putChunk(u, bytes);
        return send(res, r.status === 'stored' ? 201 : 200, r);
      }
      const media = /^\/v1\/media\/([^/]+)$/.exec(path);
      if (media && req.method === 'GET') {
        const { media: ref, bytes, expiresAt } = await m.download(media[1]!);
        res.writeHead(200, {
          'content-type': ref.mime, 'content-length': bytes.length, 'x-chatlab-sha256': ref.sha256,
          'x-chatlab-expires-at': String(expiresAt), 'cache-control': 'public, immutable',
        });
        res.end(bytes);
        return;
      }
      throw new MediaError(404, 'bad_request', `no route ${req.method} ${path}`);
    } catch (e) {
      if (e instanceof BodyAborted) return; // the client went away: nothing to answer
      const err = e instanceof MediaError ? e : new MediaError(500, 'unavailable', (e as Error).message);
      if (req.method === 'HEAD') {
        res.writeHead(err.status, { 'x-chatlab-error': err.code }).end();
        return;
      }
      // A refused upload chunk's body is not read: close the connection rather than drain it.
      if (!req.complete) res.setHeader('connection', 'close');
      send(res, err.status, { code: err.code, message: err.message, ...err.detail });
    }
  }
}

class BodyAborted extends Error {}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_JSON_BYTES) throw new MediaError(413, 'too_large', `an upload request is at most ${MAX_JSON_BYTES} bytes of JSON`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_JSON_BYTES) throw new MediaError(413, 'too_large', `an upload request is at most ${MAX_JSON_BYTES} bytes of JSON`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new MediaError(400, 'bad_request', 'the upload request is not JSON');
  }
}

/** Exactly `length` bytes of body; a connection that ends short (dropped) rejects with BodyAborted. */
function readBody(req: IncomingMessage, length: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.allocUnsafe(length);
    let at = 0;
    req.on('data', (c: Buffer) => {
      if (at + c.length > length) {
        reject(new MediaError(413, 'too_large', 'more bytes than the content-length'));
        req.destroy();
        return;
      }
      c.copy(buf, at);
      at += c.length;
    });
    req.on('end', () => (at === length ? resolve(buf) : reject(new BodyAborted())));
    req.on('aborted', () => reject(new BodyAborted()));
    req.on('close', () => {
      if (at !== length || !req.complete) reject(new BodyAborted());
    });
    req.on('error', () => reject(new BodyAborted()));
  });
}
