import type { Clock, TimerHandle } from '../../../system/clock/clock.ts';
import type { ClientFrame } from '../../../system/protocol/frames.ts';
import { userOf, type DeviceId, type UserId } from '../../../system/protocol/ids.ts';
import { E2eeError, type DeviceCrypto } from './contract.ts';
import type { E2eeStats } from './e2ee-stats.ts';

/** What an introduction says, and what its answer says (inside the encryption: the node never sees either). */
export const HELLO = 'hello';
export const HELLO_BACK = 'hello-back';
/** Bodies per `keys.introduce`: a pre-key message is ~250 B of base64url, so a frame stays well under 64 KiB. */
const BODIES_PER_INTRODUCE = 150;
/** A `keys.introduce` not answered within this long (lost with its connection) goes again. */
const ANSWER_TIMEOUT_MS = 5000;
/**
 * How long a device introduced to is waited for. One that is not online
 * answers when it next signs in (its inbox holds the introduction), and the
 * session is confirmed then; the setup does not wait for that.
 */
const ANSWER_WAIT_MS = 10_000;
/** Answers wait this long to go together, in fewer frames (they share the distributions' rate limit). */
const ANSWER_BATCH_MS = 10;

/** What the introductions need from the device's end-to-end layer. */
export interface IntroductionsHost {
  readonly link: { readonly id: DeviceId; readonly clock: Clock; online(): boolean; write(frame: ClientFrame): void };
  readonly stats: E2eeStats;
  crypto(): DeviceCrypto;
  /** The devices of `u` as the device last learned them (its own excluded); undefined until its bundles came. */
  devicesOfUser(u: UserId): readonly DeviceId[] | undefined;
  /** Called each time the introductions stop settling: the last answer came, the last frame was stored, or a wait ran out. */
  settled(): void;
}

interface Sent {
  devices: DeviceId[];
  /** Answers to introductions received, not introductions of this device. */
  answer: boolean;
  at: number;
}

/**
 * A device's introductions (`keys.introduce`, docs/protocol.md): before the
 * load, it sends a pairwise session message, outside any conversation, to
 * the devices it will talk to, and each of them answers on the session that
 * message started. Both sides then hold a confirmed session, as two devices
 * that have talked before do, and the load's first message to a contact is
 * an ordinary Double Ratchet message: not a pre-key message whose recipient
 * runs X3DH (four X25519 and a signature check) while the run measures.
 *
 * One side of each pair of devices introduces itself (the engine chooses
 * which, e2ee-setup.ts), so the two do not start two sessions and then
 * converge on one by trial decryption (Sesame) during the load.
 */
export class Introductions {
  /** Users whose devices this device introduces itself to once their bundles are known. */
  private toUsers?: Set<UserId>;
  /** Devices introduced to that have not answered yet, with when the introduction went out. */
  private unanswered?: Map<DeviceId, number>;
  /** Devices whose introduction waits for this device's answer (sent together, one frame a turn). */
  private answers?: Set<DeviceId>;
  private answerTimer: TimerHandle | undefined;
  /** Frames on their way: cid → what they carried. */
  private inFlight?: Map<string, Sent>;
  /** Devices to introduce (or answer) again: their frame was refused or its answer did not come. */
  private again?: { devices: DeviceId[]; answer: boolean }[];
  /** Polls for frames and devices waited for too long (armTimeout). */
  private retryTimer: TimerHandle | undefined;
  /** Sends `again` once a refusal's wait is over. */
  private againTimer: TimerHandle | undefined;
  private counter = 0;

  constructor(private readonly host: IntroductionsHost) {}

  /** Introduces this device to the devices of `users` (of its own user: its devices with a greater id) as soon as their bundles are in. */
  plan(users: readonly UserId[]): void {
    for (const u of users) (this.toUsers ??= new Set()).add(u);
    this.advance();
  }

  /** Sends what can be sent: introductions to users whose devices are known, and introductions or answers to send again. */
  advance(): void {
    const { link } = this.host;
    if (!link.online()) return;
    const me = userOf(link.id);
    const ready: DeviceId[] = [];
    for (const u of this.toUsers ?? []) {
      const ds = this.host.devicesOfUser(u);
      if (!ds) continue;
      this.toUsers!.delete(u);
      // Without a session (the device published no bundle), there is nothing to introduce.
      for (const d of ds) if ((u !== me || d > link.id) && this.host.crypto().hasSession(d)) ready.push(d);
    }
    if (this.toUsers?.size === 0) this.toUsers = undefined;
    if (ready.length > 0) this.send(ready, false);
    const again = this.again;
    this.again = undefined;
    for (const a of again ?? []) this.send(a.devices, a.answer);
  }

  /**
   * An `intro` from `from` decrypted to `plaintext`: an introduction (its
   * session is now this device's with `from`) is answered on that session;
   * an answer confirms this device's session with `from`.
   */
  received(from: DeviceId, plaintext: string): void {
    if (plaintext !== HELLO) {
      const was = this.settling;
      this.unanswered?.delete(from);
      if (this.unanswered?.size === 0) this.unanswered = undefined;
      this.tellIfSettled(was);
      return;
    }
    (this.answers ??= new Set()).add(from);
    this.answerTimer ??= this.host.link.clock.setTimeout(() => {
      this.answerTimer = undefined;
      const to = [...(this.answers ?? [])];
      this.answers = undefined;
      if (this.host.link.online()) this.send(to, true);
      else (this.again ??= []).push({ devices: to, answer: true });
    }, ANSWER_BATCH_MS);
  }

  /** `keys.introduced`: the entries are durable. A stale device (gone, or never one) will not answer. */
  onIntroduced(cid: unknown, stale: unknown): boolean {
    if (typeof cid !== 'string' || !cid.startsWith('in-')) return false;
    const was = this.settling;
    const sent = this.taken(cid);
    if (!sent) return true;
    if (Array.isArray(stale)) for (const d of stale) this.unanswered?.delete(d as DeviceId);
    if (this.unanswered?.size === 0) this.unanswered = undefined;
    this.tellIfSettled(was);
    return true;
  }

  /** An error with one of this layer's cids: nothing was stored (rate_limited, unavailable), so it goes again, freshly encrypted, after the wait asked. */
  onError(cid: unknown, retryAfterMs: number | undefined): boolean {
    if (typeof cid !== 'string' || !cid.startsWith('in-')) return false;
    const sent = this.taken(cid);
    if (!sent) return true;
    this.sendAgain(sent, Math.max(retryAfterMs ?? 0, 100));
    return true;
  }

  /** The socket closed: frames whose answer has not come go again after the next welcome (a repeat is a new message on the same session, not a duplicate). */
  onDisconnected(): void {
    for (const sent of this.inFlight?.values() ?? []) (this.again ??= []).push({ devices: sent.devices, answer: sent.answer });
    this.inFlight = undefined;
  }

  /** Introductions not yet sent, on their way, or not yet answered. */
  get settling(): boolean {
    return this.toUsers !== undefined || this.unanswered !== undefined || this.inFlight !== undefined || this.again !== undefined;
  }

  /** What `settling` waits for, in words. */
  get unsettled(): string {
    return `introductions: ${this.toUsers?.size ?? 0} users' devices to introduce to, ${this.inFlight?.size ?? 0} frames on their way, ${this.unanswered?.size ?? 0} devices to answer`;
  }

  stop(): void {
    for (const t of [this.answerTimer, this.retryTimer, this.againTimer]) if (t) this.host.link.clock.clear(t);
    this.answerTimer = this.retryTimer = this.againTimer = undefined;
    this.toUsers = this.unanswered = this.answers = this.inFlight = this.again = undefined;
  }

  private tellIfSettled(was: boolean): void {
    if (was && !this.settling) this.host.settled();
  }

  /** The frame `cid` on its way, taken out of `inFlight` (let go once empty: `settling` reads it). */
  private taken(cid: string): Sent | undefined {
    const sent = this.inFlight?.get(cid);
    if (!sent) return undefined;
    this.inFlight!.delete(cid);
    if (this.inFlight!.size === 0) this.inFlight = undefined;
    return sent;
  }

  private send(devices: readonly DeviceId[], answer: boolean): void {
    const { link, stats } = this.host;
    const crypto = this.host.crypto();
    const plaintext = answer ? HELLO_BACK : HELLO;
    for (let i = 0; i < devices.length; i += BODIES_PER_INTRODUCE) {
      const bodies: Record<string, string> = {};
      const sent: DeviceId[] = [];
      for (const d of devices.slice(i, i + BODIES_PER_INTRODUCE)) {
        try {
          bodies[d] = crypto.encrypt(d, plaintext);
          sent.push(d);
        } catch (err) {
          stats.failed(err instanceof E2eeError ? `introduce_${err.reason}` : 'introduce_failed');
        }
      }
      if (sent.length === 0) continue;
      // '-' never appears in a message's cid (formatCid): an introduction's answer cannot be taken for a send's.
      const cid = `in-${(this.counter++).toString(36)}`;
      (this.inFlight ??= new Map()).set(cid, { devices: sent, answer, at: link.clock.now() });
      if (!answer) {
        for (const d of sent) (this.unanswered ??= new Map()).set(d, link.clock.now());
        stats.counts.introductions += sent.length;
      }
      link.write({ t: 'keys.introduce', cid, bodies });
    }
    this.armTimeout();
  }

  private sendAgain(sent: Sent, wait: number): void {
    (this.again ??= []).push({ devices: sent.devices, answer: sent.answer });
    if (this.againTimer) return;
    this.againTimer = this.host.link.clock.setTimeout(() => {
      this.againTimer = undefined;
      this.advance();
    }, wait);
  }

  /**
   * Frames whose answer did not come within ANSWER_TIMEOUT_MS (lost with a
   * connection that has not closed yet) go again; devices that have not
   * answered within ANSWER_WAIT_MS are not waited for any more.
   */
  private armTimeout(): void {
    if (this.retryTimer || (this.inFlight === undefined && this.unanswered === undefined)) return;
    this.retryTimer = this.host.link.clock.setTimeout(() => {
      this.retryTimer = undefined;
      const was = this.settling;
      const cutoff = this.host.link.clock.now() - ANSWER_TIMEOUT_MS;
      for (const [cid, sent] of this.inFlight ?? []) {
        if (sent.at > cutoff) continue;
        this.inFlight!.delete(cid);
        (this.again ??= []).push({ devices: sent.devices, answer: sent.answer });
      }
      if (this.inFlight?.size === 0) this.inFlight = undefined;
      const given = this.host.link.clock.now() - ANSWER_WAIT_MS;
      for (const [d, at] of this.unanswered ?? []) if (at <= given) this.unanswered!.delete(d);
      if (this.unanswered?.size === 0) this.unanswered = undefined;
      this.advance();
      this.armTimeout();
      this.tellIfSettled(was);
    }, ANSWER_TIMEOUT_MS / 5);
  }
}
