import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MarkerFinder, markerForms } from './plaintext-scan.ts';

describe('Plaintext scan: the marker and its encodings', () => {
  const marker = 'lorem ipsum dolor';
  const finder = new MarkerFinder(marker);

  it('finds the marker as is, in hex, and base64-encoded (standard or URL-safe) at any alignment', () => {
    assert.ok(markerForms(marker).includes(marker));
    for (let lead = 0; lead < 6; lead++) {
      const bytes = Buffer.concat([randomBytes(lead), Buffer.from(`${marker} sit amet`), randomBytes(3)]);
      for (const text of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), `{"body":"x ${marker} y"}`]) {
        assert.ok(finder.holds(text), `lead ${lead}: ${text}`);
      }
    }
  });

  it('does not find it in ciphertext, and counts what it looked at', () => {
    const count = { seen: 0, hits: 0 };
    for (let i = 0; i < 200; i++) finder.look(count, 'random', randomBytes(200).toString(i % 2 ? 'base64' : 'hex'));
    finder.look(count, 'plain', `hello ${marker}`);
    assert.deepEqual(count, { seen: 201, hits: 1, firstHit: `plain: hello ${marker}` });
  });
});
