import type { DeviceId } from '../../../system/protocol/ids.ts';
import type { E2eeCostModel } from '../../../system/worlds/sim/e2ee-cost.ts';
import { E2eeError, type Decrypted, type DeviceCrypto, type FetchedBundleData, type PublishedBundleData } from './contract.ts';

/** The running total of modeled CPU (ms): the sim's `cpuNow`, so the device's own cost measurement reads the model. */
export interface ModeledClock {
  spentMs: number;
}

/** Filler the modeled ciphertexts are sliced from (a slice shares the string's memory). */
const FILL = 'A'.repeat(128 * 1024);
/**
 * Every modeled pre-key's public key (signed and one-time) and signature:
 * nothing reads their bytes (the node checks their sizes and that one-time
 * ids do not repeat), so one string each serves every device. Distinct
 * strings cost ~1.4 KB a device (21 keys), held by the keys store: ~1.4 GB
 * at a million devices.
 */
const PRE_KEY = key32(0);
const SIGNATURE = FILL.slice(0, 86);

/**
 * A DeviceCrypto with the protocol's shape and the calibrated cost, but no
 * keys: sessions, pre-key messages, sender keys and their generations are
 * tracked so every protocol step happens (fetches, distributions, a group
 * message waiting for its sender key, an undecryptable one), while each
 * operation only adds its measured µs to the modeled clock and returns a
 * ciphertext of the measured size. For the sim, where millions of devices
 * cannot each run the real crypto; the report says it is modeled.
 */
export class ModeledCrypto implements DeviceCrypto {
  readonly identityKey: string;
  private nextPreKey = 1;
  private signedPreKey = 1;
  /** remote → the identity its session was started with (a string, no object per session: a sim holds millions). */
  private readonly sessions = new Map<DeviceId, string>();
  /**
   * Sessions not yet confirmed (no reply came, so messages are still
   * pre-key messages), each with its base key's stand-in (a number this
   * device gave the session when it started it); built on first use.
   */
  private unconfirmed?: Map<DeviceId, number>;
  /** Base keys started this device's sessions (`unconfirmed`'s numbers). */
  private bases = 0;
  /**
   * Sessions this device started from a remote's pre-key message, by the
   * base key that message named, until a message of the session's own comes
   * (the remote then sends no more pre-key messages on it): a later pre-key
   * message with that base key is the session's next message, as live
   * (DeviceCrypto's decryptPreKeyMessage), not another X3DH.
   */
  private accepted?: Map<DeviceId, number>;
  /** `${sender} ${group}` → the sender-key generation held (built on first use: most devices are in no group). */
  private senderKeys?: Map<string, number>;
  private ownGeneration?: Map<string, number>;

  /** Filler after a pre-key message's header (marker, identity, base key): the measured overhead less the base key. */
  private readonly preKeyFill: number;

  constructor(private readonly model: E2eeCostModel, private readonly clock: ModeledClock, identity: number) {
    this.identityKey = key32(identity);
    this.preKeyFill = Math.max(0, model.preKeyMessageOverheadBytes - BASE_KEY_CHARS);
  }

  private spend(us: number): void {
    this.clock.spentMs += us / 1000;
  }

  bundle(stock: number): PublishedBundleData {
    const oneTimePreKeys = [];
    for (let i = 0; i < Math.min(100, stock); i++) oneTimePreKeys.push({ id: this.nextPreKey++, key: PRE_KEY });
    return { identityKey: this.identityKey, signedPreKey: { id: this.signedPreKey, key: PRE_KEY, signature: SIGNATURE }, oneTimePreKeys };
  }

  rotateSignedPreKey(): void {
    this.signedPreKey++;
  }

  hasSession(remote: DeviceId): boolean {
    return this.sessions.has(remote);
  }

  sessionIdentity(remote: DeviceId): string | undefined {
    return this.sessions.get(remote);
  }

  startSession(remote: DeviceId, bundle: FetchedBundleData): { identityChanged: boolean; usedOneTimePreKey: boolean } {
    this.spend(this.model.sessionStartUs);
    const old = this.sessions.get(remote);
    this.sessions.set(remote, bundle.identityKey);
    (this.unconfirmed ??= new Map()).set(remote, ++this.bases);
    return { identityChanged: old !== undefined && old !== bundle.identityKey, usedOneTimePreKey: bundle.oneTimePreKey !== undefined };
  }

  forget(remote: DeviceId): void {
    this.sessions.delete(remote);
    this.confirm(remote);
    this.settled(remote);
  }

  /** Messages to `remote` are no longer pre-key messages. */
  private confirm(remote: DeviceId): void {
    if (this.unconfirmed?.delete(remote) && this.unconfirmed.size === 0) this.unconfirmed = undefined;
  }

  /** `remote` sends no more pre-key messages on the session this device accepted from it. */
  private settled(remote: DeviceId): void {
    if (this.accepted?.delete(remote) && this.accepted.size === 0) this.accepted = undefined;
  }

  encrypt(remote: DeviceId, plaintext: string): string {
    if (!this.sessions.has(remote)) throw new E2eeError('no_session', `no session with ${remote}`);
    this.spend(this.model.encryptUs);
    // 'P' + the sender's identity and its base key: a pre-key message names them (the responder starts its session from
    // it, or finds the session an earlier one started).
    const base = this.unconfirmed?.get(remote);
    if (base !== undefined) {
      const header = `P${this.identityKey}${baseKey(base)}`;
      return base64urlLength(`${header}${FILL.slice(0, this.preKeyFill)}${carried(plaintext)}`);
    }
    return base64urlLength(`M${FILL.slice(0, this.model.messageOverheadBytes)}${carried(plaintext)}`);
  }

  decrypt(remote: DeviceId, ciphertext: string): Decrypted {
    this.spend(this.model.decryptUs);
    const s = this.sessions.get(remote);
    if (ciphertext.startsWith('P')) {
      const size = ciphertext.length - 44 - BASE_KEY_CHARS - this.preKeyFill;
      const plaintext = uncarried(ciphertext, 44) ?? FILL.slice(0, Math.max(0, size));
      const base = parseInt(ciphertext.slice(44, 44 + BASE_KEY_CHARS), 36);
      // The session an earlier pre-key message of the same base key started: its next message, no X3DH.
      if (s !== undefined && this.accepted?.get(remote) === base && ciphertext.startsWith(s, 1)) {
        this.confirm(remote);
        return { plaintext, startedSession: false, identityChanged: false };
      }
      // A copy, not a slice: a slice would keep the whole first message alive as long as the session.
      const identity = flatCopy(ciphertext.slice(1, 44));
      this.spend(this.model.sessionAcceptUs);
      this.sessions.set(remote, identity);
      (this.accepted ??= new Map()).set(remote, base);
      this.confirm(remote);
      return { plaintext, startedSession: true, identityChanged: s !== undefined && s !== identity, usedOneTimePreKey: 0 };
    }
    if (!ciphertext.startsWith('M')) throw new E2eeError('malformed', 'not a modeled ciphertext');
    if (s === undefined) throw new E2eeError('no_session', `no session with ${remote}`);
    this.confirm(remote);
    this.settled(remote);
    return { plaintext: uncarried(ciphertext, 1) ?? FILL.slice(0, Math.max(0, ciphertext.length - 1 - this.model.messageOverheadBytes)), startedSession: false, identityChanged: false };
  }

  senderKeyDistribution(group: string): string {
    const own = (this.ownGeneration ??= new Map());
    const gen = own.get(group) ?? 1;
    own.set(group, gen);
    return `${gen} ${FILL.slice(0, this.model.distributionBytes)}`;
  }

  rotateSenderKey(group: string): void {
    const own = (this.ownGeneration ??= new Map());
    own.set(group, (own.get(group) ?? 1) + 1);
  }

  processSenderKeyDistribution(sender: DeviceId, group: string, skdm: string): void {
    (this.senderKeys ??= new Map()).set(`${sender} ${group}`, parseInt(skdm, 10));
  }

  groupEncrypt(group: string, plaintext: string): string {
    this.spend(this.model.groupEncryptUs);
    const gen = this.ownGeneration?.get(group) ?? 1;
    return `${gen} ${FILL.slice(0, this.model.senderKeyOverheadBytes)}${carried(plaintext)}`;
  }

  groupDecrypt(sender: DeviceId, group: string, ciphertext: string): string {
    const gen = parseInt(ciphertext, 10);
    const held = this.senderKeys?.get(`${sender} ${group}`);
    if (held === undefined || held < gen) throw new E2eeError('no_sender_key', `no sender key of ${sender} for ${group} (generation ${gen})`);
    this.spend(this.model.groupDecryptUs);
    const space = ciphertext.indexOf(' ');
    return uncarried(ciphertext, space + 1) ?? FILL.slice(0, Math.max(0, ciphertext.length - space - 1 - this.model.senderKeyOverheadBytes));
  }
}

/** How a plaintext that carries uploaded media begins, in base64url: `{"media":`. */
const CARRIED = 'eyJtZWRpYSI6';

/**
 * What stands for a plaintext in a modeled ciphertext: filler of its length,
 * except a plaintext with uploaded media (scenarios/device/media.ts), which
 * travels as its base64url (a third longer) so the recipient can fetch the
 * media it names.
 */
function carried(plaintext: string): string {
  return plaintext.startsWith('{"media":') ? Buffer.from(plaintext).toString('base64url') : FILL.slice(0, plaintext.length);
}

/** The plaintext a modeled ciphertext carries from `from` on, if it carries one. */
function uncarried(ciphertext: string, from: number): string | undefined {
  const at = ciphertext.indexOf(CARRIED, from);
  // A trailing filler character (base64urlLength) decodes to a NUL: dropped.
  return at < 0 ? undefined : Buffer.from(ciphertext.slice(at), 'base64url').toString('utf8').replace(/\0+$/, '');
}

/** A real ciphertext is base64url, whose length is never 1 more than a multiple of 4 (the node refuses it): one more filler character then. */
function base64urlLength(s: string): string {
  return s.length % 4 === 1 ? `${s}A` : s;
}

/** A modeled base key: the number its session's initiator gave it, in base 36, 6 characters (inside the pre-key overhead). */
const BASE_KEY_CHARS = 6;
function baseKey(n: number): string {
  return (n % 36 ** BASE_KEY_CHARS).toString(36).padStart(BASE_KEY_CHARS, '0');
}

/** `s` in a string of its own (a slice of 13 characters or more points into its parent and keeps it alive). */
function flatCopy(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** A 32-byte key's base64url (43 characters) standing for `n`: distinct per n, valid for the node's bundle check. */
function key32(n: number): string {
  const digits = n.toString(36);
  return `${FILL.slice(0, 43 - digits.length)}${digits}`.replace(/[^A-Za-z0-9]/g, 'A');
}
