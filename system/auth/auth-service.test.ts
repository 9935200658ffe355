import assert from 'node:assert/strict';
import { MemoryAccounts } from '../accounts/accounts-memory.ts';
import { VirtualClock } from '../clock/clock-virtual.ts';
import { ChatError } from '../protocol/errors.ts';
import { SeededRandom } from '../random/random.ts';
import { AuthService } from './auth-service.ts';
import { TokenIssuer } from './tokens.ts';

const PHONE = '+15550001111';

function service() {
  const clock = new VirtualClock();
  const tokens = new TokenIssuer('test-secret-of-enough-length', clock);
  return { clock, tokens, auth: new AuthService(new MemoryAccounts(), tokens, clock, new SeededRandom(3)) };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ChatError);
    return err.code;
  }
  return 'ok';
}

const wrong = (code: string) => (code === '000000' ? '000001' : '000000');

describe('AuthService one-time codes', () => {
  it('takes a code once: a second verify with the same code is refused', async () => {
    const { auth, tokens } = service();
    const { code } = auth.requestCode(PHONE);
    const first = await auth.verifyCode(PHONE, code, 2);
    assert.equal(first.device, 'p15550001111.2');
    assert.equal(tokens.verify(first.token).ok, true);
    assert.equal(await refusal(auth.verifyCode(PHONE, code, 2)), 'unauthorized');
  });

  it('burns a code after three wrong tries, so the right one no longer works', async () => {
    const { auth } = service();
    const { code } = auth.requestCode(PHONE);
    for (let i = 0; i < 2; i++) assert.equal(await refusal(auth.verifyCode(PHONE, wrong(code!))), 'unauthorized');
    assert.equal(await refusal(auth.verifyCode(PHONE, 123456)), 'unauthorized', 'a code that is not a string is a wrong try');
    assert.equal(await refusal(auth.verifyCode(PHONE, code)), 'unauthorized');
  });

  it('accepts the right code after two wrong tries', async () => {
    const { auth } = service();
    const { code } = auth.requestCode(PHONE);
    for (let i = 0; i < 2; i++) await refusal(auth.verifyCode(PHONE, wrong(code!)));
    assert.equal(await refusal(auth.verifyCode(PHONE, code)), 'ok');
  });

  it('voids an older code when a newer one is requested', async () => {
    const { auth } = service();
    let older = auth.requestCode(PHONE).code!;
    let newer = auth.requestCode(PHONE).code!;
    // The seeded source may repeat a code; ask until the two differ.
    while (newer === older) [older, newer] = [newer, auth.requestCode(PHONE).code!];
    assert.equal(await refusal(auth.verifyCode(PHONE, older)), 'unauthorized');
    assert.equal(await refusal(auth.verifyCode(PHONE, newer)), 'ok');
  });

  it('lets a code expire after codeTtlMs', async () => {
    const { auth, clock } = service();
    const { code } = auth.requestCode(PHONE);
    clock.advance(5 * 60_000);
    assert.equal(await refusal(auth.verifyCode(PHONE, code)), 'unauthorized');
  });

  it('refuses device 0 and devices past 999', async () => {
    const { auth } = service();
    const { code } = auth.requestCode(PHONE);
    for (const device of [0, 1000, 1.5, 'x']) assert.equal(await refusal(auth.verifyCode(PHONE, code, device)), 'bad_frame', String(device));
  });
});
