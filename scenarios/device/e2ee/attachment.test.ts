import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { openAttachment, openAttachmentAsync, sealAttachment, sealAttachmentAsync } from './attachment.ts';
import { E2eeError } from './contract.ts';
import { b64, fromB64 } from './primitives.ts';

const refusedWith = (reason: string) => (err: unknown) => err instanceof E2eeError && err.reason === reason;

describe('e2ee attachments', () => {
  it('round trip, of sizes around the AES block', () => {
    for (const n of [0, 1, 15, 16, 17, 100 * 1024]) {
      const data = new Uint8Array(crypto.randomBytes(n));
      const sealed = sealAttachment(data);
      assert.equal(sealed.blob.length, 16 + (Math.floor(n / 16) + 1) * 16 + 32);
      assert.equal(fromB64(sealed.key).length, 64);
      assert.deepEqual(openAttachment(sealed.blob, sealed.key, sealed.digest), data);
    }
  });

  it('the blob is iv ‖ AES-256-CBC ‖ HMAC-SHA256(iv ‖ ciphertext) under the two halves of the key, its digest SHA-256', () => {
    const data = new TextEncoder().encode('a photo');
    const { blob, key, digest } = sealAttachment(data);
    const k = fromB64(key);
    const iv = blob.subarray(0, 16);
    const ciphertext = blob.subarray(16, blob.length - 32);
    const decipher = crypto.createDecipheriv('aes-256-cbc', k.subarray(0, 32), iv);
    assert.deepEqual(new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()])), data);
    const mac = crypto.createHmac('sha256', k.subarray(32)).update(blob.subarray(0, blob.length - 32)).digest();
    assert.deepEqual(new Uint8Array(mac), blob.subarray(blob.length - 32));
    assert.equal(digest, crypto.createHash('sha256').update(blob).digest('base64url'));
  });

  it('a flipped bit fails the MAC (with the digest recomputed) or the digest', () => {
    const sealed = sealAttachment(new Uint8Array(1000).fill(7));
    for (const at of [0, 20, sealed.blob.length - 1]) {
      const tampered = sealed.blob.slice();
      tampered[at]! ^= 1;
      const digest = b64(new Uint8Array(crypto.createHash('sha256').update(tampered).digest()));
      assert.throws(() => openAttachment(tampered, sealed.key, digest), refusedWith('bad_mac'));
      assert.throws(() => openAttachment(tampered, sealed.key, sealed.digest), refusedWith('bad_mac'));
    }
  });

  it('another key fails the MAC; a key of the wrong size is malformed', () => {
    const sealed = sealAttachment(new Uint8Array(10));
    const other = sealAttachment(new Uint8Array(10));
    assert.throws(() => openAttachment(sealed.blob, other.key, sealed.digest), refusedWith('bad_mac'));
    assert.throws(() => openAttachment(sealed.blob, sealed.key.slice(0, 40), sealed.digest), refusedWith('malformed'));
  });

  it('seals and opens off the event loop byte for byte as the synchronous functions do', async () => {
    const data = new Uint8Array(crypto.randomBytes(300_001));
    // The same random stream for both: the same key and IV.
    const stream = () => {
      const bytes = crypto.randomBytes(80);
      let at = 0;
      return (n: number) => new Uint8Array(bytes.subarray(at, (at += n)));
    };
    const seed = stream();
    const taken: Uint8Array[] = [];
    const record = (n: number) => {
      const b = seed(n);
      taken.push(b);
      return b;
    };
    const a = await sealAttachmentAsync(data, record);
    let i = 0;
    const b = sealAttachment(data, () => taken[i++]!);
    assert.deepEqual(a.blob, b.blob);
    assert.equal(a.digest, b.digest);
    assert.equal(a.digestHex, crypto.createHash('sha256').update(a.blob).digest('hex'));
    assert.deepEqual(await openAttachmentAsync(b.blob, b.key, b.digest), data);
    assert.deepEqual(openAttachment(a.blob, a.key, a.digest), data);
    const flipped = Uint8Array.from(a.blob);
    flipped[20]! ^= 1;
    await assert.rejects(openAttachmentAsync(flipped, a.key, a.digest), refusedWith('bad_mac'));
    await assert.rejects(openAttachmentAsync(flipped, a.key, b64(crypto.createHash('sha256').update(flipped).digest())), refusedWith('bad_mac'));
  });
});
