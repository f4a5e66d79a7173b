// Cedar's JSON form of a policy's text, parsed once per text: a snapshot build reads each policy's
// JSON in several places (file parsing, the per-intent split, the fast path, the decision cache's
// analysis), and a reload parses the same texts again. The result is shared: callers only read it.
import { policyToJson } from '@cedar-policy/cedar-wasm/nodejs';

export type PolicyJsonResult = ReturnType<typeof policyToJson>;

/** Enough for every policy of a few configs; past it the memo starts over rather than growing. */
const MAX_ENTRIES = 20_000;
const memo = new Map<string, PolicyJsonResult>();

export function policyJson(text: string): PolicyJsonResult {
  let parsed = memo.get(text);
  if (parsed === undefined) {
    parsed = policyToJson(text);
    if (memo.size >= MAX_ENTRIES) memo.clear();
    memo.set(text, parsed);
  }
  return parsed;
}
