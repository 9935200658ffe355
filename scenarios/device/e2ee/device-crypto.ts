/**
 * One device's end-to-end layer (`DeviceCrypto`): its identity, its pre-keys,
 * a Sesame-style record of sessions per remote device, and its sender keys.
 *
 * Memory is bounded, since a load driver holds thousands of these: skipped
 * message keys per session and sender key (`maxSkipped`) and per device
 * (`maxSkippedTotal`), at most `maxOneTimePreKeys` one-time pre-key privates
 * (the bundle never publishes more than it holds), one earlier signed
 * pre-key, a few inactive sessions per remote, two sender-key states per
 * (sender, group).
 */
import { ProtocolLimits } from '../../../system/protocol/frames.ts';
import type { DeviceId } from '../../../system/protocol/ids.ts';
import { type Decrypted, type DeviceCrypto, E2eeError, type FetchedBundleData, type PublishedBundleData } from './contract.ts';
import { b64, fromB64, generateKeyPair, type KeyPair, type RandomSource, secureRandom } from './primitives.ts';
import { DoubleRatchet, type RatchetConfig } from './ratchet.ts';
import { SenderKeyStore } from './sender-keys.ts';
import { Session, SessionRecord } from './session.ts';
import { SkippedKeyBudget, SkippedKeys } from './skipped-keys.ts';
import { decodePreKeyMessage, MessageType, messageTypeOf } from './wire.ts';
import { type Bundle, generateIdentity, type Identity, signPreKey, x3dhInitiate, x3dhRespond } from './x3dh.ts';

export interface DeviceCryptoOptions {
  /**
   * Where keys, IVs and ids come from (default: the OS's CSPRNG). A seeded
   * source makes a run reproducible — and its keys guessable: for tests and
   * simulations only.
   */
  random?: RandomSource;
  /** Most message keys one message may skip, and most kept, per session or sender key ("The Double Ratchet Algorithm" §3.5 MAX_SKIP). */
  maxSkipped?: number;
  /** Most skipped message keys kept by the device in all; over it the oldest go. */
  maxSkippedTotal?: number;
  /** Most one-time pre-key privates kept (at most the protocol's 100 a bundle can carry). */
  maxOneTimePreKeys?: number;
  /** Inactive sessions kept per remote device beside the active one (Sesame). */
  maxInactiveSessions?: number;
}

export const DeviceCryptoDefaults: Required<Omit<DeviceCryptoOptions, 'random'>> = {
  maxSkipped: 1000,
  maxSkippedTotal: 5000,
  maxOneTimePreKeys: ProtocolLimits.maxOneTimePreKeys,
  maxInactiveSessions: 1,
};

/** Pre-key ids are 24-bit (the protocol's `maxPreKeyId`). */
const PRE_KEY_IDS = ProtocolLimits.maxPreKeyId + 1;

interface SignedPreKey {
  id: number;
  pair: KeyPair;
  signature: Uint8Array;
}

/** One-time pre-key privates kept across stocks (three full stocks): a key fetched but not used yet still opens its session. */
const KEPT_PRE_KEYS = 300;

export class E2eeDeviceCrypto implements DeviceCrypto {
  readonly identityKey: string;
  private readonly identity: Identity;
  private readonly random: RandomSource;
  private readonly options: Required<Omit<DeviceCryptoOptions, 'random'>>;
  private readonly ratchetConfig: RatchetConfig;
  private readonly skippedBudget: SkippedKeyBudget;

  private signedPreKey: SignedPreKey;
  /** The generation before `signedPreKey`: initiators that fetched it may still be sending. */
  private previousSignedPreKey?: SignedPreKey;
  /** Unused one-time pre-keys, oldest first. */
  private readonly oneTimePreKeys = new Map<number, KeyPair>();
  private nextPreKeyId: number;

  private readonly sessions = new Map<DeviceId, SessionRecord>();
  /** The identity key last seen per remote device; outlives `forget`, so a reinstall shows as a change. */
  private readonly knownIdentities = new Map<DeviceId, string>();
  private readonly senderKeys: SenderKeyStore;

  constructor(options: DeviceCryptoOptions = {}) {
    const { random, ...bounds } = options;
    this.options = { ...DeviceCryptoDefaults, ...definedOnly(bounds) };
    this.options.maxOneTimePreKeys = Math.min(this.options.maxOneTimePreKeys, ProtocolLimits.maxOneTimePreKeys);
    for (const [name, v] of Object.entries(this.options)) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${v}`);
    }
    this.random = random ?? secureRandom;
    // Without a seeded source, key pairs come from OpenSSL's generator (a little faster than importing random bytes).
    this.ratchetConfig = { maxSkip: this.options.maxSkipped, random };
    this.skippedBudget = new SkippedKeyBudget(this.options.maxSkippedTotal);
    this.identity = generateIdentity(this.random);
    this.identityKey = b64(this.identity.signing.publicKey);
    this.nextPreKeyId = this.randomPreKeyId();
    this.signedPreKey = this.newSignedPreKey();
    this.senderKeys = new SenderKeyStore({ random: this.random, maxSkip: this.options.maxSkipped, budget: this.skippedBudget });
  }

  bundle(stock: number): PublishedBundleData {
    if (!Number.isInteger(stock) || stock < 0) throw new RangeError(`stock must be an integer ≥ 0, got ${stock}`);
    // Only fresh keys: a publish replaces the server's whole stock, and a key already handed out must not be handed out again.
    const fresh: { id: number; key: string }[] = [];
    for (let i = Math.min(stock, this.options.maxOneTimePreKeys); i > 0; i--) {
      const id = this.takePreKeyId();
      const pair = generateKeyPair('X25519', this.ratchetConfig.random);
      this.oneTimePreKeys.set(id, pair);
      fresh.push({ id, key: b64(pair.publicKey) });
    }
    // Privates of earlier stocks stay for sessions still starting from them, the oldest dropped beyond a bound.
    for (const id of this.oneTimePreKeys.keys()) {
      if (this.oneTimePreKeys.size <= KEPT_PRE_KEYS) break;
      this.oneTimePreKeys.delete(id);
    }
    const { id, pair, signature } = this.signedPreKey;
    return {
      identityKey: this.identityKey,
      signedPreKey: { id, key: b64(pair.publicKey), signature: b64(signature) },
      oneTimePreKeys: fresh,
    };
  }

  rotateSignedPreKey(): void {
    this.previousSignedPreKey = this.signedPreKey;
    this.signedPreKey = this.newSignedPreKey();
  }

  hasSession(remote: DeviceId): boolean {
    return this.sessions.has(remote);
  }

  sessionIdentity(remote: DeviceId): string | undefined {
    return this.sessions.has(remote) ? this.knownIdentities.get(remote) : undefined;
  }

  startSession(remote: DeviceId, fetched: FetchedBundleData): { identityChanged: boolean; usedOneTimePreKey: boolean } {
    const bundle = decodeBundle(fetched);
    const agreement = x3dhInitiate(this.identity, bundle, this.ratchetConfig.random);
    const ratchet = DoubleRatchet.initiator(agreement.sk, bundle.signedPreKey.key, agreement.ad, this.newSkippedKeys(), this.ratchetConfig);
    const pending = { identityKey: this.identity.signing.publicKey, signedPreKeyId: bundle.signedPreKey.id, oneTimePreKeyId: bundle.oneTimePreKey?.id };
    const identityChanged = this.install(remote, fetched.identityKey, new Session(ratchet, agreement.baseKey, pending));
    return { identityChanged, usedOneTimePreKey: bundle.oneTimePreKey !== undefined };
  }

  forget(remote: DeviceId): void {
    this.sessions.get(remote)?.dispose();
    this.sessions.delete(remote);
  }

  encrypt(remote: DeviceId, plaintext: string): string {
    const record = this.sessions.get(remote);
    if (!record) throw new E2eeError('no_session', `no session with ${remote}`);
    return b64(record.active.encrypt(utf8(plaintext)));
  }

  decrypt(remote: DeviceId, ciphertext: string): Decrypted {
    const bytes = decodeWire(ciphertext);
    const type = messageTypeOf(bytes);
    if (type === MessageType.preKey) return this.decryptPreKeyMessage(remote, bytes);
    if (type !== MessageType.ratchet) throw new E2eeError('malformed', 'not a pairwise message');
    const record = this.sessions.get(remote);
    if (!record) throw new E2eeError('no_session', `no session with ${remote}`);
    return { plaintext: text(record.decrypt(bytes)), startedSession: false, identityChanged: false };
  }

  senderKeyDistribution(group: string): string {
    return b64(this.senderKeys.distribution(group));
  }

  rotateSenderKey(group: string): void {
    this.senderKeys.rotate(group);
  }

  processSenderKeyDistribution(sender: DeviceId, group: string, skdm: string): void {
    this.senderKeys.process(sender, group, decodeWire(skdm));
  }

  groupEncrypt(group: string, plaintext: string): string {
    return b64(this.senderKeys.encrypt(group, utf8(plaintext)));
  }

  groupDecrypt(sender: DeviceId, group: string, ciphertext: string): string {
    return text(this.senderKeys.decrypt(sender, group, decodeWire(ciphertext)));
  }

  /** What the device holds, for tests and memory accounting. */
  stats(): { sessions: number; oneTimePreKeys: number; skippedKeys: number } {
    return { sessions: this.sessions.size, oneTimePreKeys: this.oneTimePreKeys.size, skippedKeys: this.skippedBudget.size };
  }

  /**
   * X3DH as the responder ("The X3DH Key Agreement Protocol" §3.4), or, when
   * the header repeats the base key of a session already held, just that
   * session's next message. Nothing changes unless the inner message
   * decrypts: only then is the one-time pre-key deleted (§3.4) and the session kept.
   */
  private decryptPreKeyMessage(remote: DeviceId, bytes: Uint8Array): Decrypted {
    const m = decodePreKeyMessage(bytes);
    const identityKey = b64(m.identityKey);
    const record = this.sessions.get(remote);
    const existing = record?.identityKey === identityKey ? record.withBaseKey(m.baseKey) : undefined;
    if (existing) return { plaintext: text(record!.decrypt(m.message, existing)), startedSession: false, identityChanged: false };

    const spk = [this.signedPreKey, this.previousSignedPreKey].find((k) => k?.id === m.signedPreKeyId);
    if (!spk) throw new E2eeError('unknown_pre_key', `no signed pre-key ${m.signedPreKeyId}`);
    const otk = m.oneTimePreKeyId === undefined ? undefined : this.oneTimePreKeys.get(m.oneTimePreKeyId);
    if (m.oneTimePreKeyId !== undefined && !otk) throw new E2eeError('unknown_pre_key', `no one-time pre-key ${m.oneTimePreKeyId} (used already, or never this device's)`);

    const agreement = x3dhRespond(this.identity, spk.pair.privateKey, otk?.privateKey, m.identityKey, m.baseKey);
    const session = new Session(DoubleRatchet.responder(agreement.sk, spk.pair, agreement.ad, this.newSkippedKeys(), this.ratchetConfig), m.baseKey);
    let plaintext: Uint8Array;
    try {
      plaintext = session.decrypt(m.message);
    } catch (err) {
      session.dispose();
      throw err;
    }
    if (m.oneTimePreKeyId !== undefined) this.oneTimePreKeys.delete(m.oneTimePreKeyId);
    const identityChanged = this.install(remote, identityKey, session);
    return { plaintext: text(plaintext), startedSession: true, identityChanged, ...(otk ? { usedOneTimePreKey: m.oneTimePreKeyId } : {}) };
  }

  /** Makes `session` the active one with `remote`; a different identity first drops every session with it. Says whether the identity changed. */
  private install(remote: DeviceId, identityKey: string, session: Session): boolean {
    const known = this.knownIdentities.get(remote);
    const record = this.sessions.get(remote);
    if (record && record.identityKey === identityKey) record.activate(session);
    else {
      record?.dispose();
      this.sessions.set(remote, new SessionRecord(identityKey, session, this.options.maxInactiveSessions));
    }
    this.knownIdentities.set(remote, identityKey);
    return known !== undefined && known !== identityKey;
  }

  private newSkippedKeys(): SkippedKeys {
    return new SkippedKeys(this.options.maxSkipped, this.skippedBudget);
  }

  private newSignedPreKey(): SignedPreKey {
    const pair = generateKeyPair('X25519', this.ratchetConfig.random);
    return { id: this.takePreKeyId(), pair, signature: signPreKey(this.identity, pair.publicKey) };
  }

  /** The next free 24-bit id; signed and one-time pre-keys share the counter, so an id names one key. */
  private takePreKeyId(): number {
    for (;;) {
      const id = this.nextPreKeyId;
      this.nextPreKeyId = (id + 1) % PRE_KEY_IDS;
      if (!this.oneTimePreKeys.has(id) && id !== this.signedPreKey?.id && id !== this.previousSignedPreKey?.id) return id;
    }
  }

  private randomPreKeyId(): number {
    const b = this.random(3);
    return (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  }
}

export function createDeviceCrypto(options: DeviceCryptoOptions = {}): DeviceCrypto & Pick<E2eeDeviceCrypto, 'stats'> {
  return new E2eeDeviceCrypto(options);
}

function decodeBundle(b: FetchedBundleData): Bundle {
  const key = (s: string, bytes: number, what: string): Uint8Array => {
    const raw = decodeWire(s);
    if (raw.length !== bytes) throw new E2eeError('malformed', `the bundle's ${what} is not ${bytes} bytes`);
    return raw;
  };
  return {
    identityKey: key(b.identityKey, 32, 'identity key'),
    signedPreKey: { id: b.signedPreKey.id, key: key(b.signedPreKey.key, 32, 'signed pre-key'), signature: key(b.signedPreKey.signature, 64, 'signature') },
    ...(b.oneTimePreKey ? { oneTimePreKey: { id: b.oneTimePreKey.id, key: key(b.oneTimePreKey.key, 32, 'one-time pre-key') } } : {}),
  };
}

function decodeWire(s: string): Uint8Array {
  try {
    return fromB64(s);
  } catch {
    throw new E2eeError('malformed', 'not base64url without padding');
  }
}

function utf8(s: string): Uint8Array {
  return Buffer.from(s, 'utf8');
}

function text(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
