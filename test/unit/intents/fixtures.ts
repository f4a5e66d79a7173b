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
