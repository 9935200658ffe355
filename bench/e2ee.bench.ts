/**
 * bench:e2ee — what the end-to-end layer costs a virtual device, per
 * operation: `npm run bench:e2ee` (a few seconds, one core).
 *
 * The per-operation figures are `measureE2eeCost` (scenarios/engine/
 * measure-e2ee.ts), the model `chatlab calibrate` writes into a
 * calibration's `e2ee` section for the sim: medians of single operations in
 * a steady 1:1 chat (half of the messages follow a reply and so take a DH
 * ratchet step in the receiver's decrypt), X3DH as initiator and responder
 * with devices seen for the first time, sender-key messages received in
 * order, and the ciphertext overheads over steady-chat's body sizes. Then a
 * 100 KiB attachment sealed and opened (mean over a time budget) and what
 * each message type adds to a 200-byte plaintext. On a machine others use,
 * run it twice.
 *
 * Measured here (2-core AMD EPYC, Node 20, load average 1.3 from other
 * work), µs: encrypt 30; decrypt 31 same chain / 197 with a DH step;
 * X3DH initiator 619, responder (first pre-key message) 496; sender-key
 * encrypt 56, decrypt 130; 100 KiB seal 340, open 167. Overhead on 200 B:
 * pre-key 148 B, ratchet 75 B, sender-key 79 B (264 / 167 / 172 base64url
 * chars). The model: DEFAULT_E2EE_COST (system/worlds/sim/e2ee-cost.ts).
 */
import { cpus } from 'node:os';
import { ciphertextOverhead, openAttachment, sealAttachment } from '../scenarios/device/e2ee/index.ts';
import { measureE2eeCost } from '../scenarios/engine/measure-e2ee.ts';

const BUDGET_MS = 250;

/** Mean µs per call of `op(i)`, over BUDGET_MS (and at least `min` calls) after `warm` calls. */
function measure(op: (i: number) => void, { warm = 300, min = 20 } = {}): number {
  let i = 0;
  for (; i < warm; i++) op(i);
  const t0 = performance.now();
  let n = 0;
  while (n < min || performance.now() - t0 < BUDGET_MS) op(i + n++);
  return ((performance.now() - t0) * 1000) / n;
}

const { model, detail } = measureE2eeCost();
const rows: [string, number][] = [
  ['encrypt, same chain', detail.encryptUs.sameChain],
  ['encrypt, first of a turn', detail.encryptUs.firstOfTurn],
  ['decrypt, same chain', detail.decryptUs.sameChain],
  ['decrypt, with a DH ratchet step', detail.decryptUs.dhStep],
  ['X3DH initiator (startSession, new contact)', detail.startSessionUs],
  ['X3DH responder (first pre-key message decrypt)', detail.firstPreKeyDecryptUs],
  ['sender-key encrypt', detail.groupEncryptUs],
  ['sender-key decrypt', detail.groupDecryptUs],
];
const row = (name: string, us: number) => rows.push([name, us]);

// Attachments.
{
  const data = new Uint8Array(100 * 1024).fill(7);
  row('seal 100 KiB attachment', measure(() => sealAttachment(data), { warm: 10 }));
  const sealed = sealAttachment(data);
  row('open 100 KiB attachment', measure(() => openAttachment(sealed.blob, sealed.key, sealed.digest), { warm: 10 }));
}

console.log(`bench:e2ee — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), load ${detail.loadAverage}`);
console.log(`medians over ${detail.samples.messages} pairwise messages, ${detail.samples.sessions} sessions each way, ${detail.samples.groupMessages} sender-key messages, bodies of ${detail.bodyBytes.min}–${detail.bodyBytes.max} B (measureE2eeCost, ${detail.elapsedMs} ms); attachments: means`);
for (const [name, us] of rows) console.log(`  ${name.padEnd(48)} ${us.toFixed(1).padStart(8)} µs`);
const o = ciphertextOverhead(200);
console.log(`ciphertext overhead for a ${o.plaintextBytes}-byte plaintext (binary bytes / base64url chars beyond the plaintext):`);
for (const [name, v] of [['pre-key message', o.preKey], ['ratchet message', o.ratchet], ['sender-key message', o.senderKey]] as const) {
  console.log(`  ${name.padEnd(48)} ${String(v.bytes).padStart(5)} B  ${String(v.base64url).padStart(5)} chars`);
}
console.log(`the sim's cost model (a calibration's e2ee section; decrypt = ${1 - detail.dhStepShare} same chain + ${detail.dhStepShare} DH step, accept = first pre-key decrypt − decrypt, overheads in base64url chars beyond the modeled marker):`);
console.log(JSON.stringify(model, null, 2));
