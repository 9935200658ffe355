import { startCoturn } from '../../../system/worlds/infra/coturn-server.ts';
import { coturnMissing, scratchDir } from '../../../system/worlds/infra/provisioning.ts';
import { callMediaRelaySuite } from './call-media-relay.suite.ts';

// coturn is provisioned by scripts/provision.sh (Debian's coturn). Missing on a
// developer's machine: skipped with a note; in CI (CI=true) it is provisioned,
// and a missing one fails with NotProvisionedError's message.
describe('call media through a real coturn', function () {
  before(function () {
    const missing = coturnMissing();
    if (missing.length > 0 && !process.env.CI) {
      console.log(`      skipped: ${missing.join(', ')} — run \`bash scripts/provision.sh\``);
      this.skip();
    }
  });

  callMediaRelaySuite('coturn', async () => {
    const coturn = await startCoturn({ dir: scratchDir('coturn') });
    return {
      secret: coturn.secret, urls: coturn.urls, address: `${coturn.host}:${coturn.port}`,
      kill: () => coturn.kill('SIGKILL'), stop: () => coturn.stop(),
    };
  });
});
