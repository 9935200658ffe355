import type { Accounts } from '../accounts/accounts.ts';
import type { Clock } from '../clock/clock.ts';
import { ChatError } from '../protocol/errors.ts';
import { deviceId } from '../protocol/ids.ts';
import type { Random } from '../random/random.ts';
import type { TokenIssuer } from './tokens.ts';

export interface AuthServiceOptions {
  /** Return the one-time code to the caller instead of "sending an SMS" (tests and load runs). */
  testMode: boolean;
  codeTtlMs: number;
  /** Wrong codes allowed per issued code before it is burned. */
  maxAttempts: number;
  tokenTtlMs: number;
  /** Pending codes kept at most; beyond it the oldest are dropped. */
  maxPendingCodes: number;
}

export const defaultAuthOptions: AuthServiceOptions = {
  testMode: true,
  codeTtlMs: 5 * 60_000,
  maxAttempts: 3,
  tokenTtlMs: 24 * 3600_000,
  maxPendingCodes: 100_000,
};

interface PendingCode {
  code: string;
  expiresMs: number;
  attempts: number;
}

const PHONE = /^\+[1-9]\d{6,14}$/;
const CODE = /^\d{6}$/;

/**
 * Phone-number sign-in: request a one-time code, verify it, get a session
 * token for one device. Simulated: no SMS leaves the machine; in test mode
 * the code is returned to the caller.
 */
export class AuthService {
  private readonly opts: AuthServiceOptions;
  private readonly pending = new Map<string, PendingCode>();

  constructor(
    private readonly accounts: Accounts,
    private readonly tokens: TokenIssuer,
    private readonly clock: Clock,
    private readonly random: Random,
    opts: Partial<AuthServiceOptions> = {},
  ) {
    this.opts = { ...defaultAuthOptions, ...opts };
  }

  /** The phone as E.164, or `bad_frame` naming the field. */
  checkPhone(phone: unknown): string {
    return checkPhone(phone);
  }

  /** Checks the other fields of a verify: `code` six digits, `device` absent or an integer in [1, 999]; `bad_frame` naming the field. */
  checkVerifyFields(code: unknown, device: unknown): void {
    if (typeof code !== 'string' || !CODE.test(code)) throw new ChatError('bad_frame', 'code must be a string of 6 digits');
    checkDevice(device ?? 1);
  }

  requestCode(phone: unknown): { sent: true; code?: string } {
    const p = checkPhone(phone);
    if (this.pending.size >= this.opts.maxPendingCodes) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
    }
    const code = String(this.random.int(1_000_000)).padStart(6, '0');
    this.pending.delete(p);
    this.pending.set(p, { code, expiresMs: this.clock.now() + this.opts.codeTtlMs, attempts: 0 });
    return this.opts.testMode ? { sent: true, code } : { sent: true };
  }

  async verifyCode(phone: unknown, code: unknown, deviceNumber: unknown = 1): Promise<{ user: string; device: string; token: string }> {
    const p = checkPhone(phone);
    const n = checkDevice(deviceNumber);
    const entry = this.pending.get(p);
    if (!entry || entry.expiresMs <= this.clock.now()) {
      this.pending.delete(p);
      throw new ChatError('unauthorized', 'no valid code for this phone: request a new one');
    }
    if (typeof code !== 'string' || code !== entry.code) {
      if (++entry.attempts >= this.opts.maxAttempts) this.pending.delete(p);
      throw new ChatError('unauthorized', 'wrong code');
    }
    this.pending.delete(p);
    let user = await this.accounts.userByPhone(p);
    if (!user) {
      user = `p${p.slice(1)}`;
      await this.accounts.bindPhone(p, user);
    }
    const device = deviceId(user, n);
    await this.accounts.addDevice(user, device);
    return { user, device, token: this.tokens.issue(device, this.opts.tokenTtlMs) };
  }
}

function checkDevice(device: unknown): number {
  if (typeof device !== 'number' || !Number.isInteger(device) || device < 1 || device > 999) {
    throw new ChatError('bad_frame', 'device must be an integer in [1, 999]');
  }
  return device;
}

function checkPhone(phone: unknown): string {
  if (typeof phone !== 'string' || !PHONE.test(phone)) {
    throw new ChatError('bad_frame', 'phone must be E.164, e.g. +4915112345678');
  }
  return phone;
}
