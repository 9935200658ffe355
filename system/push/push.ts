import type { DeviceId } from '../protocol/ids.ts';

/**
 * Wakes an offline device (an APNs/FCM stand-in). Carries no content: the
 * device connects and drains its inbox.
 *
 * Guarantee: at most once, best effort; a lost wake-up costs latency until
 * the device next comes online by itself.
 */
export interface Push {
  wake(device: DeviceId, reason: PushReason): Promise<void>;
}

/** Why a device is woken: something waits in its inbox (`msg`, `receipt`, `group`), or a call rings it (`call`: connect before its ring deadline to get the offer). */
export type PushReason = 'msg' | 'receipt' | 'group' | 'call';

/** Every PushReason, for the services that check what they are given. */
export const PUSH_REASONS: readonly PushReason[] = ['msg', 'receipt', 'group', 'call'];

/** The receiving side of push: a driver or test registers for devices. */
export interface PushSubscriber {
  (device: DeviceId, reason: PushReason): void;
}
