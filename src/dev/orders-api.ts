// The demo upstream for `cortex dev`: a small orders API. Given `assertion`, it trusts only the
// identity assertion Cortex signs (checked with the upstream kit in packages/verify) and shows
// customers their own orders; without it, it knows nothing about identity beyond one header.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
// The kit's source, not the package name: `cortex dev` must run without the kit's build step.
import { createVerifier, failureStatus, type Caller, type Verifier } from '../../packages/verify/src/index.ts';
import { GATEWAY_LOOKUP_ROLE } from '../credentials/gateway-identity.ts';
import { DEMO_PAGE, DEMO_PAGE_CSP } from './demo-page.ts';
import { ORDERS_OPENAPI } from './orders-openapi.ts';
import { createOrderStore, type Order, type OrderStore } from './orders-store.ts';

export const MAX_BODY_BYTES = 64 * 1024;
/** Without `assertion`, the caller names the owner in this header (ignored with `assertion`). */
export const OWNER_HEADER = 'x-demo-owner';
/** Roles that see every order; anyone else sees only their own. */
const STAFF_ROLES: ReadonlySet<string> = new Set(['support', 'admin']);
/** Paths served without an assertion. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/health', '/openapi.json']);
const OWNER = /^[A-Za-z0-9._@-]{1,64}$/;

const newOrderSchema = z.strictObject({
  item: z.string().trim().min(1).max(200),
  quantity: z.number().int().min(1).max(1000),
});

interface Call {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly id: string; // the {id} path parameter, '' when the route has none
  readonly path: string;
  readonly query: string;
  readonly requestId: string;
  readonly store: OrderStore;
  /** The verified caller; undefined only when the API runs without `assertion`. */
  readonly caller?: Caller;
}
type Handler = (call: Call) => void | Promise<void>;

interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, type = 'application/json'): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendProblem(call: Pick<Call, 'res' | 'requestId'>, status: number, code: string, title: string, detail: string): void {
  const body = { type: `https://cortex.dev/demo/orders/errors/${code}`, title, status, detail, code, requestId: call.requestId };
  sendJson(call.res, status, body, 'application/problem+json');
}

/** Resolves with the body, or undefined once it passes `limit` (the rest is left unread). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        req.pause();
        settle(() => resolve(undefined));
      } else chunks.push(chunk);
    });
    req.on('end', () => settle(() => resolve(Buffer.concat(chunks, size))));
    req.on('error', (err) => settle(() => reject(err)));
    req.on('close', () => settle(() => reject(new Error('request closed before its body ended'))));
  });
}

/** Whom an order is visible to: everyone without an assertion, staff, and its owner. */
function canSee(call: Call, owner: string): boolean {
  const { caller } = call;
  if (caller === undefined) return true;
  // For an agent acting for a person, the subject is the person (the agent is caller.actor).
  // The gateway's own attribute lookups (who owns order 42?) see every order.
  if (caller.kind === 'service' && caller.roles.includes(GATEWAY_LOOKUP_ROLE)) return true;
  return caller.roles.some((role) => STAFF_ROLES.has(role)) || owner === caller.subject;
}

function visibleOrder(call: Call): Order | undefined {
  const order = call.store.get(call.id);
  return order !== undefined && canSee(call, order.owner) ? order : undefined;
}

function notFound(call: Call): void {
  sendProblem(call, 404, 'orders.not_found', 'Order not found', `No order ${call.id}.`);
}

async function createOrder(call: Call): Promise<void> {
  const { req, res } = call;
  const ownerHeader = req.headers[OWNER_HEADER];
  const named = typeof ownerHeader === 'string' && ownerHeader !== '' ? ownerHeader : 'anonymous';
  const owner = call.caller?.subject ?? named;
  if (!OWNER.test(owner)) {
    const source = call.caller === undefined ? OWNER_HEADER : 'The caller\'s subject';
    sendProblem(call, 400, 'orders.invalid_owner', 'Invalid owner', `${source} must match ${OWNER.source}.`);
    return;
  }
  const raw = await readBody(req, MAX_BODY_BYTES);
  if (raw === undefined) {
    // The rest of the upload is unread; closing is cheaper than draining it.
    res.setHeader('connection', 'close');
    sendProblem(call, 413, 'orders.too_large', 'Request body too large', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    sendProblem(call, 400, 'orders.invalid_body', 'Invalid order', 'The body must be a JSON object.');
    return;
  }
  const result = newOrderSchema.safeParse(parsed);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    sendProblem(call, 400, 'orders.invalid_body', 'Invalid order', detail);
    return;
  }
  const order = call.store.create(owner, result.data.item, result.data.quantity);
  res.setHeader('location', `/orders/${order.id}`);
  sendJson(res, 201, order);
}

function sendDemoPage({ res }: Call): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(DEMO_PAGE),
    'content-security-policy': DEMO_PAGE_CSP,
    'cache-control': 'no-store',
  });
  res.end(DEMO_PAGE);
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/$/, methods: { GET: sendDemoPage } },
  {
    pattern: /^\/orders$/,
    methods: {
      GET: (call) => sendJson(call.res, 200, { orders: call.store.list().filter((o) => canSee(call, o.owner)) }),
      POST: createOrder,
    },
  },
  {
    pattern: /^\/orders\/([^/]+)$/,
    methods: {
      GET: (call) => {
        const order = visibleOrder(call);
        if (order === undefined) notFound(call);
        else sendJson(call.res, 200, order);
      },
      DELETE: (call) => {
        if (visibleOrder(call) === undefined || !call.store.delete(call.id)) notFound(call);
        else call.res.writeHead(204).end();
      },
    },
  },
  { pattern: /^\/health$/, methods: { GET: (call) => sendJson(call.res, 200, { status: 'ok' }) } },
  { pattern: /^\/openapi\.json$/, methods: { GET: (call) => sendJson(call.res, 200, ORDERS_OPENAPI) } },
  {
    pattern: /^\/debug\/request$/,
    methods: {
      GET: ({ req, res, path, query }) => {
        const rawHeaders: Array<[string, string]> = [];
        for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
        sendJson(res, 200, { method: req.method, path, query, headers: req.headers, rawHeaders });
      },
    },
  },
];

async function dispatch(req: http.IncomingMessage, res: http.ServerResponse, store: OrderStore, verifier?: Verifier): Promise<void> {
  const incomingId = req.headers['x-request-id'];
  const requestId = typeof incomingId === 'string' && incomingId !== '' ? incomingId : randomUUID();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  let caller: Caller | undefined;
  if (verifier !== undefined && !OPEN_PATHS.has(path)) {
    const verified = await verifier.fromHeaders(req.headers);
    if (!verified.ok) {
      sendProblem({ res, requestId }, failureStatus(verified.code), verified.code, 'Identity assertion refused', verified.message);
      return;
    }
    caller = verified.caller;
  }
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (match === null) continue;
    const handler = route.methods[req.method ?? ''];
    if (handler === undefined) {
      res.setHeader('allow', Object.keys(route.methods).join(', '));
      sendProblem({ res, requestId }, 405, 'orders.method_not_allowed', 'Method not allowed', `${req.method} is not allowed on ${path}.`);
      return;
    }
    await handler({ req, res, id: match[1] ?? '', path, query, requestId, store, caller });
    return;
  }
  sendProblem({ res, requestId }, 404, 'orders.no_route', 'Not found', `Nothing is served at ${path}.`);
}

export interface OrdersApi {
  url: string;
  port: number;
  /** True while the server accepts connections (the dev gateway's readiness reads it). */
  listening(): boolean;
  close(): Promise<void>;
}

export interface OrdersApiOptions {
  host?: string;
  port?: number;
  /**
   * Trust only the assertion Cortex signs: issuer is the gateway's base URL, audience this
   * upstream's id ('orders' in cortex dev). Without it, requests are not authenticated here.
   */
  assertion?: { issuer: string; audience: string; jwksUri?: string };
}

export async function startOrdersApi(opts: OrdersApiOptions = {}): Promise<OrdersApi> {
  const store = createOrderStore();
  const verifier = opts.assertion === undefined ? undefined : createVerifier(opts.assertion);
  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    dispatch(req, res, store, verifier).catch(() => {
      if (res.headersSent) res.destroy();
      else sendProblem({ res, requestId: randomUUID() }, 500, 'orders.error', 'Internal error', 'The orders API failed.');
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    listening: () => server.listening,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        // A demo upstream has nothing worth waiting for; keep-alive sockets from gateway pools would hold close().
        server.closeAllConnections();
      }),
  };
}
