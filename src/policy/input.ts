// What the policy engine is compiled from (its own module, so schema.ts and policies.ts need not
// import engine.ts, which imports them).
export interface PolicyInput {
  /** Role → intent patterns (orders:read, orders:*, *), this stage's. */
  grants: Readonly<Record<string, readonly string[]>>;
  /** Every intent routes name, with its tags. */
  intents: ReadonlyMap<string, readonly string[]>;
  agentForbidTags: readonly string[];
  /** Hand-written Cedar, already read from disk. */
  files: readonly { path: string; text: string }[];
}
