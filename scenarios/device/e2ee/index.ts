/**
 * The device-side end-to-end encryption library (Signal-style: X3DH, the
 * Double Ratchet, Sesame-style session records, sender keys, sealed
 * attachments). The device state machine uses `createDeviceCrypto` and the
 * contract's types; the rest is for tests and benchmarks.
 */
export type { Decrypted, DeviceCrypto, E2eeFailure, FetchedBundleData, PublishedBundleData, SealedAttachment } from './contract.ts';
export { E2eeError } from './contract.ts';
export { createDeviceCrypto, DeviceCryptoDefaults, type DeviceCryptoOptions, E2eeDeviceCrypto } from './device-crypto.ts';
export { openAttachment, openAttachmentAsync, sealAttachment, sealAttachmentAsync } from './attachment.ts';
export { type RandomSource, secureRandom, seededRandomSource } from './primitives.ts';
export { ciphertextOverhead } from './overhead.ts';
