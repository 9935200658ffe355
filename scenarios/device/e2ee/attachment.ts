/**
 * Media attachments as Signal's attachment scheme seals them (Signal's
 * attachment encryption; the WhatsApp security whitepaper, "Transmitting
 * Media and Other Attachments"): a fresh random 64-byte key per attachment
 * (32 for AES-256-CBC, 32 for HMAC-SHA256) and a random IV; the blob is
 * iv ‖ ciphertext ‖ HMAC(iv ‖ ciphertext), and its SHA-256 digest travels
 * with the key inside the (end-to-end encrypted) message, so the receiver
 * checks what it downloaded before it decrypts.
 */
import { E2eeError, type SealedAttachment } from './contract.ts';
import { aesCbcDecrypt, aesCbcEncrypt, b64, concat, equalBytes, fromB64, hmacSha256, type RandomSource, secureRandom, sha256 } from './primitives.ts';

const IV_BYTES = 16;
const MAC_BYTES = 32;
const KEY_BYTES = 64;

export function sealAttachment(data: Uint8Array, random: RandomSource = secureRandom): SealedAttachment {
  const key = random(KEY_BYTES);
  const iv = random(IV_BYTES);
  const body = concat(iv, aesCbcEncrypt(key.subarray(0, 32), iv, data));
  const blob = concat(body, hmacSha256(key.subarray(32), body));
  return { blob, key: b64(key), digest: b64(sha256(blob)) };
}

/** The attachment's bytes. Throws `E2eeError('bad_mac')` when the blob is not the one sealed (digest or MAC), `malformed` when the key or blob cannot be one. */
export function openAttachment(blob: Uint8Array, key: string, digest: string): Uint8Array {
  const keys = decode(key, 'key');
  if (keys.length !== KEY_BYTES) throw new E2eeError('malformed', `an attachment key is ${KEY_BYTES} bytes`);
  if (!equalBytes(sha256(blob), decode(digest, 'digest'))) throw new E2eeError('bad_mac', 'the attachment does not match its digest');
  const ciphertextBytes = blob.length - IV_BYTES - MAC_BYTES;
  if (ciphertextBytes <= 0 || ciphertextBytes % 16 !== 0) throw new E2eeError('malformed', 'the blob is not iv, whole AES blocks and a MAC');
  const body = blob.subarray(0, blob.length - MAC_BYTES);
  if (!equalBytes(hmacSha256(keys.subarray(32), body), blob.subarray(body.length))) throw new E2eeError('bad_mac', 'the attachment does not authenticate');
  try {
    return aesCbcDecrypt(keys.subarray(0, 32), body.subarray(0, IV_BYTES), body.subarray(IV_BYTES));
  } catch {
    throw new E2eeError('malformed', 'bad padding under a valid MAC');
  }
}

function decode(s: string, what: string): Uint8Array {
  try {
    return fromB64(s);
  } catch {
    throw new E2eeError('malformed', `the attachment ${what} is not base64url`);
  }
}
