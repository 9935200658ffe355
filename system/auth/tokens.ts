import { createHmac } from 'node:crypto';
import type { Clock } from '../clock/clock.ts';
import { isDeviceId, userOf } from '../protocol/ids.ts';

/** What a session token proves: this device of this user, until `exp`. */
export interface TokenClaims {
  user: string;
  device: string;
  /** Expiry, ms since the Unix epoch. */
  exp: number;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; code: 'unauthorized' | 'token_expired'; reason: string };

const enc = new TextEncoder();

/**
 * HMAC-SHA256 session tokens: `base64url(json claims).base64url(mac)`.
 * Stateless, so every node can verify without a round trip; the secret is
 * shared by the cluster's nodes and the auth service.
 */
export class TokenIssuer {
  private readonly key: Uint8Array;

  constructor(secret: string | Uint8Array, private readonly clock: Clock) {
    this.key = typeof secret === 'string' ? enc.encode(secret) : secret;
    if (this.key.length < 16) throw new RangeError('token secret must be at least 16 bytes');
  }

  issue(device: string, ttlMs: number): string {
    if (!isDeviceId(device)) throw new TypeError(`not a device id: ${device}`);
    const claims = { u: userOf(device), d: device, exp: Math.floor(this.clock.now() + ttlMs) };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  verify(token: unknown): TokenCheck {
    if (typeof token !== 'string' || token.length > 1024) return bad('token missing or too long');
    const dot = token.indexOf('.');
    if (dot < 1) return bad('token is not body.mac');
    const body = token.slice(0, dot);
    if (!timingSafeEqual(token.slice(dot + 1), this.mac(body))) return bad('token signature does not match');
    let raw: { u?: unknown; d?: unknown; exp?: unknown };
    try {
      raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return bad('token body is not JSON');
    }
    if (!isDeviceId(raw.d) || raw.u !== userOf(raw.d) || typeof raw.exp !== 'number') return bad('token claims malformed');
    if (raw.exp <= this.clock.now()) return { ok: false, code: 'token_expired', reason: 'token expired' };
    return { ok: true, claims: { user: raw.u, device: raw.d, exp: raw.exp } };
  }

  /** node:crypto rather than a pure-JS HMAC: a simulated sign-in storm verifies millions of tokens. */
  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

function bad(reason: string): TokenCheck {
  return { ok: false, code: 'unauthorized', reason };
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
