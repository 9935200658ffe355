/** One fault of a scenario's chaos schedule, as written in the scenario. */
export interface ChaosEntry {
  fault: string;
  /** 'node-2', '2', 'all'; omitted = the last node. */
  target?: string;
  /** A duration from the load's start ('9s') or a share of the load ('30%'). */
  at: string;
  duration?: string;
  [option: string]: unknown;
}
