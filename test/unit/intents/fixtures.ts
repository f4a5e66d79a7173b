// Shared material for the intents tests: an api config as the schema fills it, and OpenAPI documents.
import { importedApi } from '../../../src/config/schema-apis.ts';
import type { ImportedApiConfig, ImportedOperation } from '../../../src/intents/types.ts';

export function apiConfig(fields: Record<string, unknown> = {}): ImportedApiConfig {
  return importedApi.parse({ upstream: 'orders', spec: { file: 'orders.yaml' }, ...fields });
}

export function op(key: string, intent: string | undefined, tags: string[] = [], extra: Partial<ImportedOperation> = {}): ImportedOperation {
  const [method, path] = key.split(' ') as [ImportedOperation['method'], string];
  return { api: 'orders', key, method, path, ...(intent !== undefined ? { intent } : {}), tags, source: 'x-cortex-intent', ...extra };
}

/** OpenAPI 3.0, as JSON: x-cortex-intent on most operations, one without. */
export const ORDERS_30 = {
  openapi: '3.0.3',
  info: { title: 'Orders', version: '1' },
  security: [{ oauth: ['orders:read'] }],
  paths: {
    '/orders': {
      summary: 'the orders',
      parameters: [],
      get: { operationId: 'listOrders', tags: ['Orders'], 'x-cortex-intent': 'orders:read' },
      post: { operationId: 'createOrder', tags: ['Orders'], security: [{ oauth: ['orders:write'] }], 'x-cortex-intent': { intent: 'orders:create', tags: ['pii'] } },
    },
    '/orders/{id}': {
      get: { operationId: 'getOrder', tags: ['Orders'] },
      delete: { operationId: 'deleteOrder', tags: ['Orders'], 'x-cortex-intent': { intent: 'orders:delete', tags: ['destructive'] } },
      trace: { operationId: 'traceOrder' },
    },
    '/health': { get: { security: [] } },
  },
};

/** OpenAPI 3.1, as YAML: intents from scopes and rules, a bad template and a path-level $ref. */
export const ORDERS_31_YAML = `openapi: 3.1.0
info: { title: Orders, version: "2" }
security:
  - oauth: [orders:read]
paths:
  /orders:
    get:
      operationId: listOrders
      tags: [Orders]
  /orders/{id}:
    put:
      operationId: replaceOrder
      tags: [Orders]
      security:
        - oauth: [orders:write, openid]
    patch:
      operationId: patchOrder
      tags: [Orders]
      x-cortex-intent: Orders-Write
  /orders/{id}.json:
    get:
      operationId: getOrderJson
      x-cortex-intent: orders:read
  /shared:
    $ref: '#/components/pathItems/Shared'
  /reports/{year}:
    get:
      operationId: yearReport
      tags: [Reports]
`;

/**
 * A config importing `orders` from the OpenAPI file `specFile` under /api/ (its lock in `lockFile`),
 * with a reader grant; `more.orders` and `more.apis` are YAML lines added under apis.orders and apis.
 */
export function ordersApiYaml(specFile: string, lockFile: string, more: { orders?: string[]; apis?: string[] } = {}): string {
  return [
    'version: 1',
    'upstreams:',
    '  orders: { url: http://127.0.0.1:9903 }',
    'identity:',
    '  providers:',
    '    corp: { issuer: "https://idp.example.com", audiences: [orders-api] }',
    'apis:',
    '  orders:',
    '    upstream: orders',
    `    spec: { file: ${JSON.stringify(specFile)} }`,
    '    prefix: /api/',
    `    lockFile: ${JSON.stringify(lockFile)}`,
    ...(more.orders ?? []).map((l) => `    ${l}`),
    ...(more.apis ?? []).map((l) => `  ${l}`),
    'policy:',
    '  grants: { reader: ["orders:read"] }',
    '',
  ].join('\n');
}
