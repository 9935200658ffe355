/** Counters a node keeps; the gateway exposes them in Prometheus format. Plain numbers: the core does no I/O. */
export class NodeMetrics {
  connections = 0;
  framesIn = 0;
  framesOut = 0;
  messagesAcked = 0;
  messagesDuplicate = 0;
  deliveriesSent = 0;
  deliveriesAcked = 0;
  receiptsSent = 0;
  pushWakes = 0;
  drains = 0;
  /** Re-drains of every connection (a peer's heartbeat lapsed, or shared state came back), by reason. */
  readonly redrains = new Map<string, number>();
  /** Connections closed because their drain failed (the device reconnects and drains afresh). */
  drainFailures = 0;
  /** Connections closed by the gateway for answering no ping (4000). */
  idleCloses = 0;
  inFlight = 0;
  /** Items routed again because they were still in a device's inbox `redeliverAfterMs` after a bus publish (see Redelivery). */
  redeliveries = 0;
  /** Inbox reads made to check bus deliveries. */
  redeliverChecks = 0;
  /** Bus deliveries not watched because the redelivery queue was full (they wait for the device's next drain). */
  redeliverDropped = 0;
  /**
   * Calls this node handled, by outcome: placed (offers stored), answered,
   * rejected (declines, and ringing callees hanging up), busy (callees found
   * in a call at the offer, and devices saying busy), timeout (callees still
   * ringing at the deadline).
   */
  readonly calls = { placed: 0, answered: 0, rejected: 0, busy: 0, timeout: 0 };
  /** Mean event-loop delay over the gateway's last sample window. */
  eventLoopDelayMs = 0;
  readonly rejections = new Map<string, number>();

  reject(code: string): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
  }
}
