// The case file `cortex test` runs: who asks, in which stage, what request, and the decision
// expected. Each case is decided by explain(), so it decides exactly as `cortex explain` and the
// gateway do; each stage's world is compiled once by the caller and shared by its cases.
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { STAGES } from '../config/schema.ts';
import type { Stage } from '../config/schema.ts';
import { explain } from './explain.ts';
import type { Explanation, ExplainReason, ExplainWho, ExplainWorld } from './explain.ts';

const REASONS = ['ok', 'authz.denied', 'authz.policy_error', 'authz.no_intent', 'authz.attribute_unavailable', 'route.not_found', 'request.malformed', 'public', 'no_policy'] as const satisfies readonly ExplainReason[];

const attributeValue = z.union([z.string(), z.array(z.string())]);

const testCase = z
  .strictObject({
    name: z.string().min(1).describe('Shown on the case\'s line of output.'),
    as: z
      .union([z.string().min(1), z.strictObject({ agent: z.string().min(1), for: z.string().min(1).optional() })])
      .optional()
      .describe('A dev person (alice), or a dev agent acting for one ({ agent: assistant, for: bob }).'),
    claims: z.record(z.string(), z.unknown()).optional().describe('Token claims, as `cortex explain --claims` takes them (iss picks the provider).'),
    token: z.string().min(1).optional().describe('A JWT, decoded and not verified.'),
    stage: z.enum(STAGES).optional().describe("The stage to decide in; the config's own stage when unset."),
    request: z
      .string()
      .regex(/^[A-Za-z]+ \S+$/, "METHOD PATH, e.g. 'GET /orders/42'")
      .describe("The request: 'GET /orders/42'."),
    host: z.string().min(1).optional(),
    resource: z.record(z.string(), attributeValue).optional().describe("The route's resource attributes ({ owner: bob }); a set as a list."),
    expect: z.enum(['allow', 'deny']),
    reason: z.enum(REASONS).optional().describe('The reason expected too (authz.denied, authz.no_intent, ...).'),
    policies: z.array(z.string().min(1)).optional().describe('Policy ids that must be among the deciding ones.'),
  })
  .refine((c) => [c.as, c.claims, c.token].filter((x) => x !== undefined).length === 1, 'give exactly one of as, claims or token');

export const caseFile = z.strictObject({
  config: z.string().min(1).optional().describe('The config file, relative to the case file; --config, else the cortex dev config, when unset.'),
  cases: z.array(testCase).min(1),
});

export type TestCase = z.infer<typeof testCase>;
export type CaseFile = z.infer<typeof caseFile>;

export type ParsedCases = { ok: true; file: CaseFile } | { ok: false; problems: string[] };

export function parseCaseFile(text: string): ParsedCases {
  let tree: unknown;
  try {
    tree = parseYaml(text);
  } catch (err) {
    return { ok: false, problems: [`not YAML: ${(err as Error).message}`] };
  }
  const parsed = caseFile.safeParse(tree);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`) };
  const names = new Set<string>();
  const problems: string[] = [];
  parsed.data.cases.forEach((c, i) => {
    if (names.has(c.name)) problems.push(`cases.${i}.name: another case is named "${c.name}"`);
    names.add(c.name);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, file: parsed.data };
}

export interface CaseResult {
  name: string;
  stage: Stage;
  pass: boolean;
  /** What went wrong, for a failed case. */
  mismatch?: string;
  explanation?: Explanation;
}

function whoOf(c: TestCase): ExplainWho {
  if (c.token !== undefined) return { token: c.token };
  if (c.claims !== undefined) return { claims: c.claims };
  return typeof c.as === 'string' ? { as: c.as } : { agent: c.as?.agent ?? '', for: c.as?.for };
}

/** Decides one case in its stage's world and compares it with what the case expects. */
export function runCase(world: ExplainWorld, c: TestCase): CaseResult {
  const [method, path] = c.request.split(' ') as [string, string];
  const r = explain(world, { who: whoOf(c), method, path, host: c.host, resource: c.resource === undefined ? undefined : { given: c.resource } });
  const base = { name: c.name, stage: world.stage };
  if (!r.ok) return { ...base, pass: false, mismatch: `cannot be decided: ${r.problem}` };
  const e = r.explanation;
  const wrong: string[] = [];
  if (e.decision !== c.expect) wrong.push(`expected ${c.expect}, got ${e.decision}`);
  if (c.reason !== undefined && e.reason !== c.reason) wrong.push(`expected reason ${c.reason}, got ${e.reason}`);
  const missing = (c.policies ?? []).filter((id) => !e.policies.includes(id));
  if (missing.length > 0) wrong.push(`expected ${missing.join(', ')} among the deciding policies`);
  return wrong.length === 0 ? { ...base, pass: true, explanation: e } : { ...base, pass: false, mismatch: wrong.join('; '), explanation: e };
}

/** One line per case: `ok    name` or `FAIL  name [stage]: what differs (decided by ...)`. */
export function formatCaseResult(r: CaseResult): string {
  if (r.pass) return `ok    ${r.name}\n`;
  const e = r.explanation;
  const by = e === undefined ? '' : ` (${e.reason}; ${e.policies.length > 0 ? `decided by ${e.policies.join(', ')}` : 'no policy decided'})`;
  return `FAIL  ${r.name} [${r.stage}]: ${r.mismatch ?? ''}${by}\n`;
}
