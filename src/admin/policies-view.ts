// GET /api/policies: the running snapshot's Cedar, for the dashboard's explainer and routes pages:
// the generated policies and schema (as the engine compiled them), the hand-written files with the
// ids each holds, and per intent the ids of the policies that can apply to it (the same action-scope
// test as the per-intent split, policy/policy-split.ts, so the list is what Cedar is given).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Snapshot } from '../gateway/snapshot.ts';
import type { PolicyInput } from '../policy/input.ts';
import { generatePolicies, parseFiles } from '../policy/policies.ts';
import { analyzePolicy } from '../policy/policy-inputs.ts';
import { applicableTo } from '../policy/policy-split.ts';
import { buildCatalog } from '../policy/schema.ts';

export interface PoliciesView {
  /** False without a policy section: any authenticated caller may use every route. */
  enabled: boolean;
  mode: string | null;
  generated: string;
  schema: string;
  files: { path: string; ids: string[]; problem?: string }[];
  /** Every policy: its id and where it comes from ('generated' or a file's path, with the line). */
  policies: { id: string; source: string; line?: number }[];
  /** intent → ids of the policies whose action scope can match it. */
  intents: Record<string, string[]>;
  notes: string[];
}

// Analysing each policy crosses into wasm: done once per snapshot's config (a reload makes a new one).
const cache = new WeakMap<Config, PoliciesView>();

/** The intents the routes name, with their tags, as snapshot-policy.ts gives them to the engine. */
function intentsOf(config: Config): Map<string, readonly string[]> {
  const intents = new Map<string, readonly string[]>();
  for (const rc of Object.values(config.routes)) if (rc.intent !== undefined && !intents.has(rc.intent)) intents.set(rc.intent, [...rc.tags].sort());
  return intents;
}

export function policiesView(snapshot: Snapshot): PoliciesView {
  const known = cache.get(snapshot.config);
  if (known !== undefined) return known;
  const view = buildView(snapshot);
  cache.set(snapshot.config, view);
  return view;
}

function buildView(snapshot: Snapshot): PoliciesView {
  const policy = snapshot.config.policy;
  const engine = snapshot.policy;
  if (policy === undefined || engine === undefined) {
    return { enabled: false, mode: null, generated: '', schema: '', files: [], policies: [], intents: {}, notes: ['no policy section: any authenticated caller may use every route'] };
  }
  const notes: string[] = [];
  const files: PoliciesView['files'] = [];
  const texts: { path: string; text: string }[] = [];
  for (const path of policy.files) {
    try {
      texts.push({ path, text: readFileSync(resolve(path), 'utf8') });
    } catch (err) {
      files.push({ path, ids: [], problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
    }
  }
  const input: PolicyInput = { grants: policy.grants, intents: intentsOf(snapshot.config), agentForbidTags: policy.agents.forbidTags, files: texts };
  const { catalog } = buildCatalog(input);
  const written = parseFiles(texts);
  notes.push(...written.problems);
  for (const { path } of texts) files.push({ path, ids: written.policies.filter((p) => p.source === path).map((p) => p.id) });
  files.sort((a, b) => policy.files.indexOf(a.path) - policy.files.indexOf(b.path));
  const all = [...generatePolicies(input, catalog), ...written.policies];
  const analysed = all.map((p) => analyzePolicy(p.text));
  const intents: Record<string, string[]> = {};
  for (const intent of [...catalog.intents.keys()].sort()) intents[intent] = applicableTo(analysed, catalog, intent).map((i) => all[i]!.id);
  if (policy.files.length > 0) notes.push('the hand-written files are read when this config generation is first shown: an edit made since the gateway loaded them may show here before it is served');
  return {
    enabled: true,
    mode: policy.mode,
    generated: engine.generatedPolicies,
    schema: engine.schema,
    files,
    policies: all.map((p) => ({ id: p.id, source: p.source, ...(p.line !== undefined ? { line: p.line } : {}) })),
    intents,
    notes,
  };
}
