import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ed25519, x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { SeededRandom } from '../../../system/random/random.ts';
import {
  DerPrefix, edPublicToX25519, edSeedToX25519, fromB64, generateKeyPair, hkdfSha256, privateFromRaw, publicFromRaw, rawPublicOf, seededRandomSource, sign, verify, x25519, hmacSha256, sha256,
} from './primitives.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('e2ee primitives', () => {
  describe('HMAC-SHA256 and SHA-256 (one-shot hashes, no native object a call)', () => {
    const ascii = (t: string) => new Uint8Array(Buffer.from(t, 'latin1'));

    it('matches RFC 4231 test cases 1, 2 and 6 (a key longer than the block is hashed first)', () => {
      assert.equal(toHex(hmacSha256(new Uint8Array(20).fill(0x0b), ascii('Hi There'))), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
      assert.equal(toHex(hmacSha256(ascii('Jefe'), ascii('what do ya want for nothing?'))), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
      assert.equal(
        toHex(hmacSha256(new Uint8Array(131).fill(0xaa), ascii('Test Using Larger Than Block-Size Key - Hash Key First'))),
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      );
    });

    it('agrees with createHmac and createHash for keys and messages of every size around the block, in several parts', () => {
      const r = new SeededRandom(7);
      const bytes = (n: number) => Uint8Array.from({ length: n }, () => r.int(256));
      for (const keyLength of [0, 1, 32, 63, 64, 65, 200]) {
        for (const parts of [[0], [1], [55, 9], [64], [100, 0, 3000]]) {
          const key = bytes(keyLength);
          const data = parts.map(bytes);
          const h = crypto.createHmac('sha256', key);
          for (const d of data) h.update(d);
          assert.equal(toHex(hmacSha256(key, ...data)), h.digest('hex'), `key ${keyLength}, parts ${parts}`);
          const all = Buffer.concat(data);
          assert.equal(toHex(sha256(all)), crypto.createHash('sha256').update(all).digest('hex'));
        }
      }
    });
  });

  describe('X25519 (node:crypto)', () => {
    it('RFC 7748 §5.2 test vectors (the high bit of u is masked)', () => {
      const vectors = [
        ['a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c', 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
        ['4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d', 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493', '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'],
      ] as const;
      for (const [scalar, u, out] of vectors) assert.equal(toHex(x25519(privateFromRaw('X25519', hex(scalar)), hex(u))), out);
    });

    it('RFC 7748 §6.1 Diffie-Hellman: both public keys and the shared secret', () => {
      const a = privateFromRaw('X25519', hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
      const b = privateFromRaw('X25519', hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
      assert.equal(toHex(rawPublicOf(a)), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
      assert.equal(toHex(rawPublicOf(b)), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
      const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
      assert.equal(toHex(x25519(a, rawPublicOf(b))), shared);
      assert.equal(toHex(x25519(b, rawPublicOf(a))), shared);
    });

    it('agrees with @noble/curves on fixed keys', () => {
      const random = seededRandomSource(new SeededRandom(7));
      for (let i = 0; i < 8; i++) {
        const a = random(32);
        const b = random(32);
        const mine = x25519(privateFromRaw('X25519', a), rawPublicOf(privateFromRaw('X25519', b)));
        assert.deepEqual(mine, nobleX25519.getSharedSecret(a, nobleX25519.getPublicKey(b)));
        assert.deepEqual(rawPublicOf(privateFromRaw('X25519', a)), nobleX25519.getPublicKey(a));
      }
    });

    it('refuses a small-order public key (all-zero shared secret)', () => {
      const a = generateKeyPair('X25519');
      assert.throws(() => x25519(a.privateKey, new Uint8Array(32)));
    });
  });

  describe('Ed25519 (node:crypto)', () => {
    it('RFC 8032 §7.1 test 1', () => {
      const key = privateFromRaw('Ed25519', hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
      assert.equal(toHex(rawPublicOf(key)), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
      const signature = sign(key, new Uint8Array(0));
      assert.equal(
        toHex(signature),
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      );
      assert.ok(verify(rawPublicOf(key), new Uint8Array(0), signature));
      assert.ok(!verify(rawPublicOf(key), Uint8Array.of(0), signature));
    });

    it('agrees with @noble/curves on fixed keys, both ways', () => {
      const random = seededRandomSource(new SeededRandom(11));
      for (let i = 0; i < 4; i++) {
        const seed = random(32);
        const message = random(100);
        const key = privateFromRaw('Ed25519', seed);
        assert.deepEqual(rawPublicOf(key), ed25519.getPublicKey(seed));
        assert.deepEqual(sign(key, message), ed25519.sign(message, seed));
        assert.ok(ed25519.verify(sign(key, message), message, ed25519.getPublicKey(seed)));
        assert.ok(verify(ed25519.getPublicKey(seed), message, ed25519.sign(message, seed)));
      }
    });

    it("an identity's X25519 form: the converted public key is the converted private key's", () => {
      const seed = seededRandomSource(new SeededRandom(3))(32);
      const edPublic = rawPublicOf(privateFromRaw('Ed25519', seed));
      assert.deepEqual(rawPublicOf(privateFromRaw('X25519', edSeedToX25519(seed))), edPublicToX25519(edPublic));
    });
  });

  describe('raw keys', () => {
    it('the DER prefixes are what OpenSSL exports (RFC 8410), and import the same keys as JWK', () => {
      for (const curve of ['X25519', 'Ed25519'] as const) {
        const pair = generateKeyPair(curve);
        const spki = crypto.createPublicKey(pair.privateKey).export({ format: 'der', type: 'spki' });
        const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
        assert.deepEqual(new Uint8Array(spki.subarray(0, 12)), new Uint8Array(DerPrefix[curve].spki));
        assert.deepEqual(new Uint8Array(pkcs8.subarray(0, 16)), new Uint8Array(DerPrefix[curve].pkcs8));
        assert.deepEqual(new Uint8Array(spki.subarray(12)), pair.publicKey);
        const raw = new Uint8Array(pkcs8.subarray(16));
        assert.deepEqual(rawPublicOf(privateFromRaw(curve, raw)), pair.publicKey);
        assert.ok(publicFromRaw(curve, pair.publicKey).equals(crypto.createPublicKey(pair.privateKey)));
      }
    });

    it('keys from a seeded source repeat; from the default one they do not', () => {
      const a = generateKeyPair('X25519', seededRandomSource(new SeededRandom(1)));
      const b = generateKeyPair('X25519', seededRandomSource(new SeededRandom(1)));
      assert.deepEqual(a.publicKey, b.publicKey);
      assert.notDeepEqual(generateKeyPair('X25519').publicKey, generateKeyPair('X25519').publicKey);
    });

    it('makes key pairs through garbage collections without hanging', async function () {
      // A child collects garbage every few allocations while it makes key pairs for 4 s (at most
      // 200,000): a key whose export can meet a collection that needs the export's lock (what
      // `crypto.generateKeyPairSync` leaves behind) hangs the child, which is then killed by PID.
      this.timeout(60_000);
      const primitives = new URL('./primitives.ts', import.meta.url).href;
      const code = `import { generateKeyPair } from ${JSON.stringify(primitives)};
        const end = Date.now() + 4000; let n = 0;
        while (n < 200000 && Date.now() < end) { generateKeyPair(n % 2 ? 'Ed25519' : 'X25519'); n++; }
        console.log(n);`;
      const root = fileURLToPath(new URL('../../../', import.meta.url));
      const child = spawn(process.execPath, ['--max-semi-space-size=1', '--gc-interval=3', '--import', 'tsx', '--input-type=module', '--eval', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const ended = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 40_000);
        child.on('exit', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!ended) child.kill('SIGKILL');
      assert.ok(ended, 'the child hung making key pairs');
      assert.equal(child.exitCode, 0);
      assert.ok(Number(out) > 1000, `made ${out.trim()} key pairs`);
    });

    it('base64url is strict', () => {
      assert.deepEqual(fromB64('AQID'), Uint8Array.of(1, 2, 3));
      assert.throws(() => fromB64('AQID='), RangeError);
      assert.throws(() => fromB64('AQ+D'), RangeError);
      assert.throws(() => fromB64('AQIDB'), RangeError);
    });
  });

  it('HKDF-SHA256: RFC 5869 test case 1', () => {
    const okm = hkdfSha256(hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
    assert.equal(toHex(okm), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });
});
