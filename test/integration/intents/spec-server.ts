// A real server on port 0 that serves an OpenAPI document the test changes while the gateway runs,
// and can fail (500) or cut connections, to show the gateway keeps its last good document.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SpecMode = 'ok' | 'error' | 'reset';

export interface SpecServer {
  /** The document's URL (any path serves the document set for it; /openapi.json by default). */
  url(path?: string): string;
  set(doc: unknown, path?: string): void;
  mode(m: SpecMode): void;
  requests(): number;
  close(): Promise<void>;
}

export async function startSpecServer(doc: unknown): Promise<SpecServer> {
  const docs = new Map<string, string>([['/openapi.json', JSON.stringify(doc)]]);
  let mode: SpecMode = 'ok';
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    const body = docs.get(req.url ?? '');
    if (mode === 'error' || body === undefined) {
      res.writeHead(mode === 'error' ? 500 : 404, { 'content-type': 'text/plain' }).end('no document');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path = '/openapi.json') => `${base}${path}`,
    set(d, path = '/openapi.json') {
      docs.set(path, JSON.stringify(d));
    },
    mode(m) {
      mode = m;
    },
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ok = { '200': { description: 'OK' } };

/** An operation of the test documents: its intent as x-cortex-intent (none when undefined). */
export function op(operationId: string, intent?: string | { intent: string; tags: string[] }): Record<string, unknown> {
  return { operationId, ...(intent !== undefined ? { 'x-cortex-intent': intent } : {}), responses: ok };
}

export function openapi(paths: Record<string, Record<string, unknown>>): unknown {
  return { openapi: '3.0.3', info: { title: 'orders', version: '1.0.0' }, paths };
}

/** The orders API as the tests start it: reads, a destructive delete, and one operation without intent. */
export function ordersPaths(): Record<string, Record<string, unknown>> {
  return {
    '/orders': { get: op('listOrders', 'orders:read') },
    '/orders/{id}': {
      get: op('getOrder', 'orders:read'),
      delete: op('deleteOrder', { intent: 'orders:delete', tags: ['destructive'] }),
    },
    '/orders/{id}/notes': { get: op('getNotes') },
  };
}
