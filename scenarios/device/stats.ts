/** Counters a device keeps for progress displays; the ledger, not these, is the record of truth. */
export interface DeviceStats {
  connectAttempts: number;
  connects: number;
  disconnects: number;
  framesIn: number;
  framesOut: number;
  badFrames: number;
  otherFrames: number;
  sends: number;
  retries: number;
  acks: number;
  /** Acks for nothing pending: repeats, or acks after the send had failed. */
  lateAcks: number;
  queueFull: number;
  errors: number;
  /** Messages shown to the user (duplicates and late arrivals included). */
  delivered: number;
  dupTransport: number;
  dupVisible: number;
  outOfOrder: number;
  gapsSkipped: number;
  /** End-to-end encrypted deliveries the device could not decrypt (never shown). */
  undecryptable: number;
  receipts: number;
  dupReceipts: number;
  pushes: number;
  pushWakes: number;
  typingDropped: number;
}

export function emptyStats(): DeviceStats {
  return {
    connectAttempts: 0, connects: 0, disconnects: 0, framesIn: 0, framesOut: 0, badFrames: 0, otherFrames: 0,
    sends: 0, retries: 0, acks: 0, lateAcks: 0, queueFull: 0, errors: 0,
    delivered: 0, dupTransport: 0, dupVisible: 0, outOfOrder: 0, gapsSkipped: 0, undecryptable: 0,
    receipts: 0, dupReceipts: 0, pushes: 0, pushWakes: 0, typingDropped: 0,
  };
}
