/**
 * bench:e2ee — what the end-to-end layer costs a virtual device, per
 * operation: `npm run bench:e2ee` (a few seconds, one core).
 *
 * Pairwise messages of 200 bytes on one chain (the sender keeps sending) and
 * with a DH ratchet step (the two sides take turns: each decrypt starts a new
 * receiving chain, each encrypt follows one), X3DH as initiator
 * (`startSession`: signature check, 4 DHs, the first ratchet key) and as
 * responder (the first pre-key message's decrypt), sender-key messages, a
 * 100 KiB attachment sealed and opened, and what each message type adds to a
 * 200-byte plaintext. Each figure is the mean over a fixed time budget (or a
 * fixed count of prepared inputs) after a warm-up; on a machine others use,
 * run it twice.
 *
 * Measured here (2-core AMD EPYC, Node 20, load average ~3 from other work),
 * µs: encrypt 41 same chain / 26 first of a turn; decrypt 39 same chain /
 * 214 with a DH step; X3DH initiator 638, responder 536; sender-key encrypt
 * 66, decrypt 156; 100 KiB seal 340, open 167. Overhead on 200 B: pre-key
 * 148 B, ratchet 75 B, sender-key 79 B (264 / 167 / 172 base64url chars).
 */
import { cpus } from 'node:os';
import { type FetchedBundleData, openAttachment, sealAttachment } from '../scenarios/device/e2ee/index.ts';
import { ciphertextOverhead, createDeviceCrypto } from '../scenarios/device/e2ee/index.ts';

const BUDGET_MS = 250;
const PLAINTEXT = 'x'.repeat(200);

/** Mean µs per call of `op(i)`, over BUDGET_MS (and at least `min` calls) after `warm` calls. */
function measure(op: (i: number) => void, { warm = 300, min = 20 } = {}): number {
  let i = 0;
  for (; i < warm; i++) op(i);
  const t0 = performance.now();
  let n = 0;
  while (n < min || performance.now() - t0 < BUDGET_MS) op(i + n++);
  return ((performance.now() - t0) * 1000) / n;
}

/** Times `op` over inputs prepared beforehand (decrypts need fresh ciphertexts). */
function measureOver<T>(prepare: (n: number) => T[], op: (x: T) => void, n: number): number {
  const inputs = prepare(n);
  const t0 = performance.now();
  for (const x of inputs) op(x);
  return ((performance.now() - t0) * 1000) / inputs.length;
}

function fetched(device: string, bundle: ReturnType<ReturnType<typeof createDeviceCrypto>['bundle']>, otk = 0): FetchedBundleData {
  const oneTimePreKey = bundle.oneTimePreKeys[otk];
  return { device, identityKey: bundle.identityKey, signedPreKey: bundle.signedPreKey, ...(oneTimePreKey ? { oneTimePreKey } : {}) };
}

function connectedPair() {
  const alice = createDeviceCrypto();
  const bob = createDeviceCrypto();
  alice.startSession('bob.1', fetched('bob.1', bob.bundle(1)));
  bob.decrypt('alice.1', alice.encrypt('bob.1', 'hello'));
  alice.decrypt('bob.1', bob.encrypt('alice.1', 'hello'));
  return { alice, bob };
}

const rows: [string, number][] = [];
const connected = connectedPair();
const row = (name: string, us: number) => rows.push([name, us]);

// One chain: the sender keeps sending, the receiver follows one chain key at a time.
// (A fresh pair for the decrypts: the encrypts ran far ahead of anything the receiver may skip.)
{
  row('encrypt 200 B, same chain', measure(() => connected.alice.encrypt('bob.1', PLAINTEXT)));
  const { alice, bob } = connectedPair();
  row('decrypt 200 B, same chain', measureOver((n) => Array.from({ length: n }, () => alice.encrypt('bob.1', PLAINTEXT)), (c) => bob.decrypt('alice.1', c), 3000));
}

// Turns: every decrypt is a DH ratchet step (a new key pair, two DHs, two KDF_RKs).
{
  const { alice, bob } = connectedPair();
  const sides = [
    { me: alice, peer: 'bob.1', them: bob, as: 'alice.1' },
    { me: bob, peer: 'alice.1', them: alice, as: 'bob.1' },
  ];
  let enc = 0;
  let dec = 0;
  const turns = 2000;
  for (let i = 0; i < turns; i++) {
    const s = sides[i % 2]!;
    const t0 = performance.now();
    const c = s.me.encrypt(s.peer, PLAINTEXT);
    const t1 = performance.now();
    s.them.decrypt(s.as, c);
    const t2 = performance.now();
    enc += t1 - t0;
    dec += t2 - t1;
  }
  row('encrypt 200 B, first of a turn', (enc * 1000) / turns);
  row('decrypt 200 B, with a DH ratchet step', (dec * 1000) / turns);
}

// X3DH: the initiator from a bundle; the responder on the first pre-key message.
{
  const alice = createDeviceCrypto();
  const bob = createDeviceCrypto();
  const bundle = fetched('bob.1', bob.bundle(1));
  row('X3DH initiator (startSession)', measure(() => alice.startSession('bob.1', bundle)));
  // A one-time pre-key answers once: batches of 100 (a full bundle), each decrypted before the next is fetched.
  const firstMessages = () => {
    const b = bob.bundle(100);
    return b.oneTimePreKeys.map((_, k) => {
      alice.startSession('bob.1', fetched('bob.1', b, k));
      return alice.encrypt('bob.1', PLAINTEXT);
    });
  };
  const batches = [0, 1, 2, 3].map(() => measureOver(firstMessages, (c) => bob.decrypt('alice.1', c), 100));
  row('X3DH responder (first pre-key message decrypt)', batches.slice(1).reduce((a, b) => a + b) / 3);
}

// Sender keys: one signature per message, one verification per receiver.
{
  const alice = createDeviceCrypto();
  const bob = createDeviceCrypto();
  row('sender-key encrypt 200 B', measure(() => alice.groupEncrypt('g', PLAINTEXT)));
  bob.processSenderKeyDistribution('alice.1', 'g', alice.senderKeyDistribution('g'));
  row('sender-key decrypt 200 B', measureOver((n) => Array.from({ length: n }, () => alice.groupEncrypt('g', PLAINTEXT)), (c) => bob.groupDecrypt('alice.1', 'g', c), 1500));
}

// Attachments.
{
  const data = new Uint8Array(100 * 1024).fill(7);
  row('seal 100 KiB attachment', measure(() => sealAttachment(data), { warm: 10 }));
  const sealed = sealAttachment(data);
  row('open 100 KiB attachment', measure(() => openAttachment(sealed.blob, sealed.key, sealed.digest), { warm: 10 }));
}

console.log(`bench:e2ee — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores)`);
for (const [name, us] of rows) console.log(`  ${name.padEnd(48)} ${us.toFixed(1).padStart(8)} µs`);
const o = ciphertextOverhead(200);
console.log(`ciphertext overhead for a ${o.plaintextBytes}-byte plaintext (binary bytes / base64url chars beyond the plaintext):`);
for (const [name, v] of [['pre-key message', o.preKey], ['ratchet message', o.ratchet], ['sender-key message', o.senderKey]] as const) {
  console.log(`  ${name.padEnd(48)} ${String(v.bytes).padStart(5)} B  ${String(v.base64url).padStart(5)} chars`);
}
