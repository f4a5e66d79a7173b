// POST /api/explain: the policy decision for one caller and request, against the running gateway's
// current snapshot; the same JSON as `cortex explain --json` (who: as, agent + for, claims or token;
// optional resource attributes as --resource gives them). Behind the admin token.
import type { IncomingMessage } from 'node:http';
import { explain } from '../policy/explain.ts';
import type { ExplainWho, ExplainWorld } from '../policy/explain.ts';
import type { ExplainResourceInput } from '../policy/explain-resource.ts';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

/** What this handler reads of the admin request (a narrower AdminContext, so endpoints.ts can import this file). */
export interface ExplainAdminRequest {
  readonly req: IncomingMessage;
  readonly requestId: string;
}

/** The running snapshot's parts a decision reads; called once the body is in, so a reload in between is seen. */
export type ExplainWorldSource = () => ExplainWorld | undefined;

const MAX_BODY_BYTES = 65_536;

export async function explainEndpoint(ctx: ExplainAdminRequest, world: ExplainWorldSource | undefined): Promise<AdminReply> {
  const bad = (detail: string): AdminReply => problemReply('request.malformed', ctx.requestId, detail);
  if (world === undefined) return problemReply('admin.not_found', ctx.requestId, 'This gateway does not offer explain.');
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) return bad('Send the request to explain as application/json.');
  const text = await readBody(ctx.req);
  if (text === undefined) return bad(`The body must be at most ${MAX_BODY_BYTES} bytes.`);
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return bad('The body is not valid JSON.');
  }
  const parsed = parseInput(input);
  if (typeof parsed === 'string') return bad(parsed);
  const current = world();
  if (current === undefined) return problemReply('admin.not_found', ctx.requestId, 'The gateway has no snapshot yet.');
  if (parsed.stage !== undefined && parsed.stage !== current.stage) {
    return bad(`This gateway runs stage ${current.stage}; explain another stage with cortex explain --stage ${parsed.stage}.`);
  }
  const result = explain(current, { who: parsed.who, method: parsed.method, path: parsed.path, host: parsed.host, resource: parsed.resource });
  if (!result.ok) return bad(`Cannot explain: ${result.problem}.`);
  return jsonReply(200, result.explanation);
}

interface ExplainInput {
  who: ExplainWho;
  method: string;
  path: string;
  host?: string;
  stage?: string;
  resource?: ExplainResourceInput;
}

/** The body's shape, or what is wrong with it. */
export function parseInput(input: unknown): ExplainInput | string {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return 'The body must be a JSON object.';
  const o = input as Record<string, unknown>;
  const known = new Set(['as', 'agent', 'for', 'claims', 'token', 'method', 'path', 'host', 'stage', 'resource']);
  const unknown = Object.keys(o).find((k) => !known.has(k));
  if (unknown !== undefined) return `Unknown field "${unknown}".`;
  const given = ['as', 'agent', 'claims', 'token'].filter((k) => o[k] !== undefined);
  if (given.length !== 1) return 'Say who is asking with exactly one of "as", "agent" (with "for"), "claims" or "token".';
  if (o.for !== undefined && o.agent === undefined) return '"for" names the person an "agent" acts for.';
  let who: ExplainWho;
  if (o.agent !== undefined) {
    if (typeof o.agent !== 'string' || o.agent === '') return '"agent" must be an agent client id.';
    if (o.for !== undefined && (typeof o.for !== 'string' || o.for === '')) return '"for" must be a person\'s name.';
    who = { agent: o.agent, for: o.for };
  } else if (o.as !== undefined) {
    if (typeof o.as !== 'string') return '"as" must be a string.';
    who = { as: o.as };
  } else if (o.token !== undefined) {
    if (typeof o.token !== 'string') return '"token" must be a string.';
    who = { token: o.token };
  } else {
    if (o.claims === null || typeof o.claims !== 'object' || Array.isArray(o.claims)) return '"claims" must be a JSON object.';
    who = { claims: o.claims as Record<string, unknown> };
  }
  if (typeof o.method !== 'string' || !/^[A-Za-z]{1,16}$/.test(o.method)) return '"method" must be an HTTP method such as GET.';
  if (typeof o.path !== 'string' || o.path === '') return '"path" must be a request path such as /orders/42.';
  for (const k of ['host', 'stage'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') return `"${k}" must be a string.`;
  const resource = resourceOf(o.resource);
  if (typeof resource === 'string') return resource;
  const out: ExplainInput = { who, method: o.method, path: o.path };
  if (resource !== undefined) out.resource = resource;
  if (typeof o.host === 'string') out.host = o.host;
  if (typeof o.stage === 'string') out.stage = o.stage;
  return out;
}

/** `resource`: the route's resource attributes by hand, as `cortex explain --resource NAME=VALUE` (a list for a set). */
function resourceOf(value: unknown): ExplainResourceInput | undefined | string {
  if (value === undefined) return undefined;
  const bad = '"resource" must be an object of attribute names to a string or a list of strings.';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad;
  const given: Record<string, string | string[]> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) given[name] = v;
    else return bad;
  }
  return { given };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
