import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthService } from '../auth/auth-service.ts';
import type { Clock } from '../clock/clock.ts';
import { KeyedLimiter } from '../node/rate-limit.ts';
import { ChatError, type ErrorCode } from '../protocol/errors.ts';

/** Limits of the HTTP sign-in endpoints; part of GatewayOptions. */
export interface AuthHttpOptions {
  /** Largest request body read, in bytes; a larger one gets 413 `too_large`. */
  httpBodyMaxBytes: number;
  /** Body bytes read and discarded after the limit so the 413 arrives whole; past this the connection is cut after the answer. */
  httpDiscardMaxBytes: number;
  /** `/auth/request` and `/auth/verify` per phone (each endpoint its own bucket): rate per minute and burst. */
  authPhonePerMin: number;
  authPhoneBurst: number;
  /** Both endpoints together per source address: rate per minute and burst. */
  authAddressPerMin: number;
  authAddressBurst: number;
  /** Phones and addresses each limiter remembers at most (see KeyedLimiter). */
  authLimiterKeysMax: number;
}

export const defaultAuthHttpOptions: AuthHttpOptions = {
  httpBodyMaxBytes: 4096,
  httpDiscardMaxBytes: 16 * 1024 * 1024,
  authPhonePerMin: 6,
  authPhoneBurst: 3,
  authAddressPerMin: 120,
  authAddressBurst: 60,
  authLimiterKeysMax: 100_000,
};

const STATUS: Partial<Record<ErrorCode, number>> = { bad_frame: 400, unauthorized: 401, not_found: 404, too_large: 413, rate_limited: 429, unavailable: 503 };

/**
 * `POST /auth/request` and `POST /auth/verify` over HTTP: body size, field
 * validation (AuthService), rate limits per source address (before the body
 * is read) and per phone. Every request gets a complete JSON answer
 * `{code, message, retryAfterMs?}` on failure — 400 `bad_frame` naming the
 * field, 401, 413 `too_large`, 429 `rate_limited` with a `retry-after`
 * header, 503 `unavailable` when a store failed — never a reset or a 500.
 */
export class AuthHttp {
  private readonly byPhone: KeyedLimiter;
  private readonly byAddress: KeyedLimiter;

  constructor(private readonly auth: AuthService, clock: Clock, private readonly opts: AuthHttpOptions) {
    const perMin = (n: number) => n / 60;
    this.byPhone = new KeyedLimiter(clock, { perSec: perMin(opts.authPhonePerMin), burst: opts.authPhoneBurst }, opts.authLimiterKeysMax);
    this.byAddress = new KeyedLimiter(clock, { perSec: perMin(opts.authAddressPerMin), burst: opts.authAddressBurst }, opts.authLimiterKeysMax);
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: '/auth/request' | '/auth/verify'): Promise<void> {
    const wait = this.byAddress.take(req.socket.remoteAddress ?? 'unknown');
    if (wait > 0) return this.answerAfterBody(req, res, new ChatError('rate_limited', 'too many sign-in requests from this address', wait));
    const read = await readBody(req, this.opts.httpBodyMaxBytes, this.opts.httpDiscardMaxBytes);
    if (read.cut) return fail(res, new ChatError('too_large', `body exceeds ${this.opts.httpBodyMaxBytes} bytes`), true);
    if (read.body === undefined) return fail(res, new ChatError('too_large', `body exceeds ${this.opts.httpBodyMaxBytes} bytes`));
    try {
      const body = parseObject(read.body);
      const phone = this.auth.checkPhone(body.phone);
      if (path === '/auth/verify') this.auth.checkVerifyFields(body.code, body.device);
      const phoneWait = this.byPhone.take(`${path}|${phone}`);
      if (phoneWait > 0) throw new ChatError('rate_limited', 'too many sign-in requests for this phone', phoneWait);
      if (path === '/auth/request') return json(res, 200, this.auth.requestCode(phone));
      return json(res, 200, await this.auth.verifyCode(phone, body.code, body.device ?? 1));
    } catch (err) {
      // Only ChatErrors carry text meant for the client; anything else is a store that failed.
      fail(res, err instanceof ChatError ? err : new ChatError('unavailable', 'sign-in temporarily unavailable, retry', 1000));
    }
  }

  /** Reads (and drops) the body first, so the answer is read by a client still sending. */
  private async answerAfterBody(req: IncomingMessage, res: ServerResponse, err: ChatError): Promise<void> {
    const read = await readBody(req, 0, this.opts.httpDiscardMaxBytes);
    fail(res, err, read.cut);
  }
}

interface Read {
  /** The body, or undefined when it was over the limit (and discarded). */
  body?: Buffer;
  /** The body went past the discard limit too: answer, then cut the connection. */
  cut: boolean;
}

/**
 * Reads a body of at most `maxBytes`; a larger one is read on and dropped up
 * to `discardMaxBytes` (so the client, still sending, gets the 413 whole
 * instead of a reset), and past that reading stops.
 */
function readBody(req: IncomingMessage, maxBytes: number, discardMaxBytes: number): Promise<Read> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (declared > discardMaxBytes) return resolve({ cut: true });
    let size = 0;
    let chunks: Buffer[] | undefined = [];
    const done = (r: Read) => {
      req.removeAllListeners('data');
      resolve(r);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > discardMaxBytes) return done({ cut: true });
      if (size > maxBytes) chunks = undefined;
      else chunks?.push(c);
    });
    req.on('end', () => done({ body: chunks ? Buffer.concat(chunks) : undefined, cut: false }));
    req.on('error', () => done({ cut: true }));
  });
}

function parseObject(body: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ChatError('bad_frame', 'body must be a JSON object');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ChatError('bad_frame', 'body must be a JSON object');
  return v as Record<string, unknown>;
}

function fail(res: ServerResponse, err: ChatError, cut = false): void {
  const body: { code: string; message: string; retryAfterMs?: number } = { code: err.code, message: err.message };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (err.retryAfterMs !== undefined) {
    body.retryAfterMs = err.retryAfterMs;
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  }
  if (cut) headers.connection = 'close';
  res.writeHead(STATUS[err.code] ?? 400, headers);
  res.end(JSON.stringify(body), () => {
    if (cut) res.socket?.destroy();
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
