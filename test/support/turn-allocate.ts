import { TurnProtocol, UdpTransport } from 'werift';
import type { TurnCredentials } from '../../system/protocol/frames.ts';

/**
 * One allocation on the relay the credentials name (their first `turn:`
 * URL) with werift's client, released at once; resolves to the relayed
 * port. Its refresh loop is switched off: the allocation lives only as long
 * as the check.
 */
export async function allocateOnce(creds: TurnCredentials): Promise<number> {
  const port = Number(/:(\d+)\?/.exec(creds.urls[0]!)![1]);
  const transport = await UdpTransport.init('udp4', { interfaceAddresses: { udp4: '127.0.0.1' } });
  const turn = new TurnProtocol(['127.0.0.1', port], creds.username, creds.credential, 600, transport);
  (turn as unknown as { refresh: () => void }).refresh = () => {};
  try {
    await turn.connectionMade();
    return turn.relayedAddress[1];
  } finally {
    await turn.close();
  }
}
