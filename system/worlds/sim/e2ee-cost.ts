import { z } from 'zod';

/**
 * What end-to-end encryption costs a device, per operation (µs of CPU) and
 * per message (bytes beyond the plaintext). `chatlab calibrate` measures it
 * on the machine it runs on (measureE2eeCost); the sim charges it instead of
 * running the crypto (its report says so), as ModeledCrypto uses each figure.
 */
export interface E2eeCostModel {
  /** Where the figures come from, for the report. */
  source: string;
  encryptUs: number;
  decryptUs: number;
  /** X3DH as the initiator (signature check and DHs), on top of the first encrypt. */
  sessionStartUs: number;
  /** X3DH as the responder, on top of the first decrypt. */
  sessionAcceptUs: number;
  groupEncryptUs: number;
  groupDecryptUs: number;
  /** Ciphertext beyond the plaintext, in base64url characters as sent (after ModeledCrypto's marker): a ratchet message, a pre-key message, a sender-key message. */
  messageOverheadBytes: number;
  preKeyMessageOverheadBytes: number;
  senderKeyOverheadBytes: number;
  /** A sender-key distribution message's plaintext (base64url characters, after the marker). */
  distributionBytes: number;
  /** Sealing (or opening) a media attachment, µs per KiB. */
  attachmentUsPerKiB: number;
}

const us = z.number({ error: 'expected a number of µs >= 0' }).min(0);
const bytes = z.number({ error: 'expected a whole number of bytes >= 0' }).int().min(0);

export const e2eeCostSchema = z.object({
  source: z.string(),
  encryptUs: us,
  decryptUs: us,
  sessionStartUs: us,
  sessionAcceptUs: us,
  groupEncryptUs: us,
  groupDecryptUs: us,
  messageOverheadBytes: bytes,
  preKeyMessageOverheadBytes: bytes,
  senderKeyOverheadBytes: bytes,
  distributionBytes: bytes,
  attachmentUsPerKiB: us,
}, { error: 'expected the e2ee cost figures of `chatlab calibrate`' });

/**
 * For a calibration without an `e2ee` section; the shipped one
 * (calibrations/embedded.json) carries these same figures. Measured with
 * `measureE2eeCost` (scenarios/engine/measure-e2ee.ts, what `chatlab
 * calibrate` runs first) on the 2-core machine (Intel Xeon, node v20.20.2)
 * on 2026-12-07, load average 1.2, one run, in the `--write-default`
 * sitting of bench:sim-vs-live. Decrypt is 29.6 µs on the same chain and 180.9 µs
 * with a DH ratchet step, half each; the first pre-key message decrypts in
 * 466.2 µs. Overheads are base64url characters beyond the plaintext and
 * ModeledCrypto's marker, over bodies of 20–400 B.
 */
export const DEFAULT_E2EE_COST: E2eeCostModel = {
  source: 'measureE2eeCost, real DeviceCrypto: 2 cores (Intel(R) Xeon(R) Processor), node v20.20.2, 2026-12-07, load 1.2',
  encryptUs: 27,
  decryptUs: 105,
  sessionStartUs: 551,
  sessionAcceptUs: 361,
  groupEncryptUs: 50,
  groupDecryptUs: 119,
  messageOverheadBytes: 171,
  preKeyMessageOverheadBytes: 224,
  senderKeyOverheadBytes: 174,
  distributionBytes: 93,
  attachmentUsPerKiB: 3.2,
};
