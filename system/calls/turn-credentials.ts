import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TurnCredentials } from '../protocol/frames.ts';

/**
 * TURN credentials in the style of the TURN REST API (a shared secret
 * between the chat nodes and the relays, nothing stored per user): the
 * username is `<expiry in Unix seconds>:<user id>` and the password is
 * base64(HMAC-SHA1(secret, username)). A relay configured with the same
 * secret (coturn's `use-auth-secret` / `static-auth-secret`) checks both
 * and refuses a username whose expiry has passed.
 */
export interface TurnConfig {
  /** The secret shared with the relays. */
  secret: string;
  /** `turn:host:port?transport=udp` URLs handed to devices. */
  urls: string[];
  /** Seconds the minted credentials stay valid. */
  ttlS: number;
}

/** Default `ttlS`: minted credentials stay valid 10 minutes. */
export const TURN_TTL_S_DEFAULT = 600;

/**
 * The TURN relays a node hands to devices, from the environment of its
 * process: CHATLAB_TURN_SECRET (the shared secret), CHATLAB_TURN_URLS
 * (comma-separated `turn:` / `turns:` URLs) and CHATLAB_TURN_TTL_S
 * (default TURN_TTL_S_DEFAULT). Undefined when neither secret nor URLs are
 * set: no relay. One without the other, or a TTL that is not a positive
 * integer, is refused with its name.
 */
export function turnConfigFromEnv(env: Readonly<Record<string, string | undefined>>): TurnConfig | undefined {
  const secret = env.CHATLAB_TURN_SECRET ?? '';
  const urls = (env.CHATLAB_TURN_URLS ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (secret === '' && urls.length === 0) return undefined;
  if (secret === '') throw new RangeError('CHATLAB_TURN_URLS is set: CHATLAB_TURN_SECRET must be too');
  if (urls.length === 0) throw new RangeError('CHATLAB_TURN_SECRET is set: CHATLAB_TURN_URLS must name at least one relay');
  const bad = urls.find((u) => !/^turns?:[^\s]+$/.test(u));
  if (bad !== undefined) throw new RangeError(`CHATLAB_TURN_URLS: ${JSON.stringify(bad)} is not a turn: or turns: URL`);
  const ttl = env.CHATLAB_TURN_TTL_S;
  const ttlS = ttl === undefined || ttl === '' ? TURN_TTL_S_DEFAULT : Number(ttl);
  if (!Number.isSafeInteger(ttlS) || ttlS < 1) throw new RangeError(`CHATLAB_TURN_TTL_S must be a positive integer, got ${JSON.stringify(ttl)}`);
  return { secret, urls, ttlS };
}

/** Mints credentials for `user`, valid `ttlS` seconds from `nowMs`. */
export function mintTurnCredentials(cfg: TurnConfig, user: string, nowMs: number): TurnCredentials {
  const username = `${Math.floor(nowMs / 1000) + cfg.ttlS}:${user}`;
  return { urls: cfg.urls, username, credential: turnPassword(cfg.secret, username), ttl: cfg.ttlS };
}

/** The password a relay expects for `username`. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** Why a relay refuses a username and password, or undefined when it accepts them. */
export function turnCredentialsProblem(secret: string, username: string, credential: string, nowMs: number): 'malformed' | 'expired' | 'forged' | undefined {
  const colon = username.indexOf(':');
  const expiry = Number(colon > 0 ? username.slice(0, colon) : username);
  if (!Number.isSafeInteger(expiry)) return 'malformed';
  const want = Buffer.from(turnPassword(secret, username));
  const got = Buffer.from(credential);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return 'forged';
  return expiry * 1000 <= nowMs ? 'expired' : undefined;
}
