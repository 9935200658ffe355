import { Gauge, Registry } from 'prom-client';
import type { ChatNode } from '../node/chat-node.ts';

/**
 * Prometheus exposition of one node's counters. One prom-client Registry per
 * call keeps nodes that share a process (embedded world) apart.
 */
export async function renderMetrics(node: ChatNode, sockets: number): Promise<string> {
  const registry = new Registry();
  const labels = { node: node.id };
  const m = node.metrics;
  const gauge = (name: string, help: string, value: number) => {
    const g = new Gauge({ name, help, labelNames: ['node'], registers: [registry] });
    g.set(labels, value);
  };
  gauge('chatlab_connections', 'Open device connections', sockets);
  gauge('chatlab_frames_in_total', 'Frames received from devices', m.framesIn);
  gauge('chatlab_frames_out_total', 'Frames sent to devices', m.framesOut);
  gauge('chatlab_messages_acked_total', 'Messages stored and acked to the sender', m.messagesAcked);
  gauge('chatlab_messages_duplicate_total', 'Resends answered with the original ack', m.messagesDuplicate);
  gauge('chatlab_deliveries_sent_total', 'Deliveries pushed to devices', m.deliveriesSent);
  gauge('chatlab_deliveries_acked_total', 'Deliveries acked by devices', m.deliveriesAcked);
  gauge('chatlab_receipts_sent_total', 'Receipts queued for devices', m.receiptsSent);
  gauge('chatlab_push_wakes_total', 'Push wake-ups sent to offline devices', m.pushWakes);
  gauge('chatlab_drains_total', 'Inbox drains started', m.drains);
  gauge('chatlab_inflight_sends', 'Sends being stored now', m.inFlight);
  gauge('chatlab_event_loop_delay_ms', 'Mean event-loop delay over the last sample window, beyond the 20 ms sampling interval (idle reads ~0)', m.eventLoopDelayMs);
  let depth = 0;
  for (const c of node.connections.open.values()) depth += c.unacked.size;
  gauge('chatlab_unacked_deliveries', 'Deliveries sent and not yet acked (inbox depth in flight)', depth);
  const calls = new Gauge({ name: 'chatlab_calls_total', help: 'Calls by outcome: placed, answered, rejected, busy, timeout (callees)', labelNames: ['node', 'outcome'], registers: [registry] });
  for (const [outcome, n] of Object.entries(m.calls)) calls.set({ ...labels, outcome }, n);
  const rej = new Gauge({ name: 'chatlab_rejections_total', help: 'Rejected frames by reason', labelNames: ['node', 'reason'], registers: [registry] });
  for (const [reason, n] of m.rejections) rej.set({ ...labels, reason }, n);
  return registry.metrics();
}
