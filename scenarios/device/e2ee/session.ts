/**
 * A pairwise session with one remote device: the Double Ratchet it runs,
 * and the X3DH header its messages carry until the remote has answered.
 *
 * "The X3DH Key Agreement Protocol" §3.3: the initial message carries
 * Alice's identity key, her ephemeral (base) key and the ids of Bob's
 * pre-keys she used; Signal keeps sending that header on every message until
 * a reply proves Bob has the session, so any of them may be the first to
 * arrive. Bob recognises a repeat of a header by its base key.
 *
 * "The Sesame Algorithm" (Marlinspike, Perrin, 2017): a device record keeps,
 * per remote device, one active session and a few inactive ones; a message
 * is tried on the active one first, and an inactive one that decrypts it
 * becomes the active one.
 * That is what makes two devices that started sessions with each other at
 * the same time converge on one.
 */
import { E2eeError } from './contract.ts';
import type { DoubleRatchet } from './ratchet.ts';
import { equalBytes } from './primitives.ts';
import { encodePreKeyMessage } from './wire.ts';

export interface PendingPreKey {
  identityKey: Uint8Array;
  signedPreKeyId: number;
  oneTimePreKeyId?: number;
}

export class Session {
  constructor(
    private readonly ratchet: DoubleRatchet,
    /** The X3DH base key (EK_A) the session was agreed from: names it in pre-key messages. */
    readonly baseKey: Uint8Array,
    /** Set while this side initiated and has not heard back. */
    private pending?: PendingPreKey,
  ) {}

  encrypt(plaintext: Uint8Array): Uint8Array {
    const message = this.ratchet.encrypt(plaintext);
    if (!this.pending) return message;
    return encodePreKeyMessage({ ...this.pending, baseKey: this.baseKey, message });
  }

  /** A ratchet message; the first one that decrypts shows the remote has the session, so the X3DH header stops. */
  decrypt(message: Uint8Array): Uint8Array {
    const plaintext = this.ratchet.decrypt(message);
    this.pending = undefined;
    return plaintext;
  }

  get skippedCount(): number {
    return this.ratchet.skippedCount;
  }

  dispose(): void {
    this.ratchet.dispose();
  }
}

/** Sesame's per-device record: the active session first, then inactive ones, newest first. */
export class SessionRecord {
  private sessions: Session[];

  constructor(
    /** The remote identity key (base64url) every session of the record was agreed with. */
    readonly identityKey: string,
    active: Session,
    private readonly maxInactive: number,
  ) {
    this.sessions = [active];
  }

  get active(): Session {
    return this.sessions[0]!;
  }

  /** A new active session; the old one stays inactive (messages it sent may still arrive). */
  activate(session: Session): void {
    this.sessions.unshift(session);
    for (const old of this.sessions.splice(this.maxInactive + 1)) old.dispose();
  }

  withBaseKey(baseKey: Uint8Array): Session | undefined {
    return this.sessions.find((s) => equalBytes(s.baseKey, baseKey));
  }

  /**
   * Decrypts with `session` if given, else with each session in turn. A
   * session that decrypts becomes the active one. When none does, the
   * active session's refusal is the one thrown.
   */
  decrypt(message: Uint8Array, session?: Session): Uint8Array {
    let refusal: unknown;
    for (const s of session ? [session] : this.sessions) {
      try {
        const plaintext = s.decrypt(message);
        this.promote(s);
        return plaintext;
      } catch (err) {
        if (!(err instanceof E2eeError)) throw err;
        refusal ??= err;
        if (err.reason === 'malformed') break;
      }
    }
    throw refusal;
  }

  dispose(): void {
    for (const s of this.sessions) s.dispose();
    this.sessions = [];
  }

  private promote(s: Session): void {
    const at = this.sessions.indexOf(s);
    if (at > 0) this.sessions.unshift(...this.sessions.splice(at, 1));
  }
}
