import assert from 'node:assert/strict';
import { mintTurnCredentials, TURN_TTL_S_DEFAULT, turnConfigFromEnv, turnCredentialsProblem } from './turn-credentials.ts';

describe('TURN credentials', () => {
  const cfg = { secret: 's3cret', urls: ['turn:relay.test:3478?transport=udp'], ttlS: 600 };

  it('mints credentials a relay with the same secret accepts until they expire', () => {
    const now = Date.UTC(2026, 0, 1);
    const c = mintTurnCredentials(cfg, 'bob', now);
    assert.equal(c.username, `${now / 1000 + 600}:bob`);
    assert.deepEqual([c.urls, c.ttl], [cfg.urls, 600]);
    assert.equal(turnCredentialsProblem(cfg.secret, c.username, c.credential, now + 599_999), undefined);
    assert.equal(turnCredentialsProblem(cfg.secret, c.username, c.credential, now + 600_000), 'expired');
    assert.equal(turnCredentialsProblem('other', c.username, c.credential, now), 'forged');
  });

  it('reads the relays from the environment: none when unset, the TTL defaulted, a half-set or bad value refused by name', () => {
    assert.equal(turnConfigFromEnv({}), undefined);
    assert.equal(turnConfigFromEnv({ CHATLAB_TURN_SECRET: '', CHATLAB_TURN_URLS: '' }), undefined);
    assert.deepEqual(turnConfigFromEnv({ CHATLAB_TURN_SECRET: 'x', CHATLAB_TURN_URLS: 'turn:a:3478?transport=udp, turns:b:5349' }), {
      secret: 'x', urls: ['turn:a:3478?transport=udp', 'turns:b:5349'], ttlS: TURN_TTL_S_DEFAULT,
    });
    assert.equal(turnConfigFromEnv({ CHATLAB_TURN_SECRET: 'x', CHATLAB_TURN_URLS: 'turn:a', CHATLAB_TURN_TTL_S: '60' })?.ttlS, 60);
    assert.throws(() => turnConfigFromEnv({ CHATLAB_TURN_URLS: 'turn:a' }), /CHATLAB_TURN_SECRET/);
    assert.throws(() => turnConfigFromEnv({ CHATLAB_TURN_SECRET: 'x' }), /CHATLAB_TURN_URLS/);
    assert.throws(() => turnConfigFromEnv({ CHATLAB_TURN_SECRET: 'x', CHATLAB_TURN_URLS: 'http://a' }), /CHATLAB_TURN_URLS/);
    assert.throws(() => turnConfigFromEnv({ CHATLAB_TURN_SECRET: 'x', CHATLAB_TURN_URLS: 'turn:a', CHATLAB_TURN_TTL_S: '1.5' }), /CHATLAB_TURN_TTL_S/);
  });
});
