/**
 * Media attachments as Signal's attachment scheme seals them (Signal's
 * attachment encryption; the WhatsApp security whitepaper, "Transmitting
 * Media and Other Attachments"): a fresh random 64-byte key per attachment
 * (32 for AES-256-CBC, 32 for HMAC-SHA256) and a random IV; the blob is
 * iv ‖ ciphertext ‖ HMAC(iv ‖ ciphertext), and its SHA-256 digest travels
 * with the key inside the (end-to-end encrypted) message, so the receiver
 * checks what it downloaded before it decrypts.
 */
import { webcrypto } from 'node:crypto';
import { E2eeError, type SealedAttachment } from './contract.ts';
import { aesCbcDecrypt, aesCbcEncrypt, b64, concat, equalBytes, fromB64, hmacSha256, type RandomSource, secureRandom, sha256 } from './primitives.ts';

const { subtle } = webcrypto;
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

/**
 * The same sealing off the event loop: WebCrypto's AES-CBC (PKCS#7, as
 * above), HMAC-SHA256 and SHA-256 run in the thread pool, so a driver that
 * seals megabyte videos does not hold up the deliveries it is timing. The
 * blob is byte-for-byte what `sealAttachment` makes with the same key and
 * IV; `digestHex` is its SHA-256 as the media service names it.
 */
export async function sealAttachmentAsync(data: Uint8Array, random: RandomSource = secureRandom): Promise<SealedAttachment & { digestHex: string }> {
  const key = random(KEY_BYTES);
  const iv = random(IV_BYTES);
  const aes = await subtle.importKey('raw', key.subarray(0, 32), 'AES-CBC', false, ['encrypt']);
  const body = concat(iv, new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv }, aes, data)));
  const mac = await subtle.importKey('raw', key.subarray(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const blob = concat(body, new Uint8Array(await subtle.sign('HMAC', mac, body)));
  const digest = new Uint8Array(await subtle.digest('SHA-256', blob));
  return { blob, key: b64(key), digest: b64(digest), digestHex: Buffer.from(digest).toString('hex') };
}

/** `openAttachment` off the event loop (see sealAttachmentAsync); the same checks and errors. */
export async function openAttachmentAsync(blob: Uint8Array, key: string, digest: string): Promise<Uint8Array> {
  const keys = decode(key, 'key');
  if (keys.length !== KEY_BYTES) throw new E2eeError('malformed', `an attachment key is ${KEY_BYTES} bytes`);
  if (!equalBytes(new Uint8Array(await subtle.digest('SHA-256', blob)), decode(digest, 'digest'))) throw new E2eeError('bad_mac', 'the attachment does not match its digest');
  const ciphertextBytes = blob.length - IV_BYTES - MAC_BYTES;
  if (ciphertextBytes <= 0 || ciphertextBytes % 16 !== 0) throw new E2eeError('malformed', 'the blob is not iv, whole AES blocks and a MAC');
  const body = blob.subarray(0, blob.length - MAC_BYTES);
  const mac = await subtle.importKey('raw', keys.subarray(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  if (!(await subtle.verify('HMAC', mac, blob.subarray(body.length), body))) throw new E2eeError('bad_mac', 'the attachment does not authenticate');
  const aes = await subtle.importKey('raw', keys.subarray(0, 32), 'AES-CBC', false, ['decrypt']);
  try {
    return new Uint8Array(await subtle.decrypt({ name: 'AES-CBC', iv: body.subarray(0, IV_BYTES) }, aes, body.subarray(IV_BYTES)));
  } catch {
    throw new E2eeError('malformed', 'bad padding under a valid MAC');
  }
}
