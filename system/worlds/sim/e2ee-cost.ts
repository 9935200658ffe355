import { z } from 'zod';

/**
 * What end-to-end encryption costs a device, per operation (µs of CPU) and
 * per message (bytes beyond the plaintext). `chatlab calibrate` measures it
 * on the machine it runs on; the sim charges it instead of running the
 * crypto (its report says so).
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
  /** Ciphertext bytes beyond the plaintext: a ratchet message, a pre-key message, a sender-key message. */
  messageOverheadBytes: number;
  preKeyMessageOverheadBytes: number;
  senderKeyOverheadBytes: number;
  /** A sender-key distribution message's plaintext, bytes. */
  distributionBytes: number;
  /** Sealing (or opening) a media attachment, µs per KiB. */
  attachmentUsPerKiB: number;
}

const us = z.number({ error: 'expected a number of µs >= 0' }).min(0);
const bytes = z.number({ error: 'expected a number of bytes >= 0' }).int().min(0);

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

/** Measured with `npm run bench:e2ee` on the 2-core machine the default calibration comes from. */
export const DEFAULT_E2EE_COST: E2eeCostModel = {
  source: 'bench:e2ee on a 2-core machine',
  encryptUs: 60,
  decryptUs: 70,
  sessionStartUs: 400,
  sessionAcceptUs: 300,
  groupEncryptUs: 80,
  groupDecryptUs: 150,
  messageOverheadBytes: 100,
  preKeyMessageOverheadBytes: 200,
  senderKeyOverheadBytes: 120,
  distributionBytes: 100,
  attachmentUsPerKiB: 3.4,
};
