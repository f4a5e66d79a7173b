// The demo orders API describes itself: Cortex reads x-cortex-intent / x-cortex-public from this
// document to learn each operation's intent, so it must match what orders-api.ts serves
// (test/integration/orders-api.test.ts probes the server to keep the two honest).
import { ORDER_STATUSES } from './orders-store.ts';

const problem = {
  description: 'Error (RFC 9457 problem details).',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};
const json = (description: string, ref: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Order id, e.g. ord_1001.',
  schema: { type: 'string', pattern: '^ord_[0-9]+$' },
};

export const ORDERS_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Cortex demo orders API',
    version: '1.0.0',
    description: 'The upstream that `cortex dev` puts behind the gateway. Data is in memory and resets on restart.',
  },
  paths: {
    '/': {
      get: {
        operationId: 'demoPage',
        summary: 'The demo page: a static HTML page whose script reads /orders and /.cortex/me through the gateway',
        'x-cortex-public': true,
        responses: { '200': { description: 'HTML page.', content: { 'text/html': {} } } },
      },
    },
    '/orders': {
      get: {
        operationId: 'listOrders',
        summary: 'List orders',
        'x-cortex-intent': 'orders:read',
        responses: { '200': json('All orders.', 'OrderList') },
      },
      post: {
        operationId: 'createOrder',
        summary: 'Create an order for the calling owner',
        'x-cortex-intent': 'orders:create',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/NewOrder' } } },
        },
        responses: {
          '201': {
            ...json('The created order.', 'Order'),
            headers: { Location: { description: 'Path of the new order.', schema: { type: 'string' } } },
          },
          '400': problem,
          '413': problem,
        },
      },
    },
    '/orders/{id}': {
      parameters: [idParameter],
      get: {
        operationId: 'getOrder',
        summary: 'Read one order',
        'x-cortex-intent': 'orders:read',
        responses: { '200': json('The order.', 'Order'), '404': problem },
      },
      delete: {
        operationId: 'deleteOrder',
        summary: 'Delete one order',
        'x-cortex-intent': 'orders:delete',
        responses: { '204': { description: 'Deleted.' }, '404': problem },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness',
        'x-cortex-public': true,
        responses: { '200': json('Alive.', 'Health') },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document',
        'x-cortex-public': true,
        responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': {} } } },
      },
    },
    '/debug/request': {
      get: {
        operationId: 'debugRequest',
        summary: 'Echo the request as it reached this service (for seeing what the gateway forwards)',
        'x-cortex-public': true,
        responses: { '200': json('The request line and headers received.', 'DebugRequest') },
      },
    },
  },
  components: {
    schemas: {
      Order: {
        type: 'object',
        required: ['id', 'owner', 'item', 'quantity', 'status', 'createdAt'],
        properties: {
          id: { type: 'string' },
          owner: { type: 'string' },
          item: { type: 'string' },
          quantity: { type: 'integer', minimum: 1 },
          status: { type: 'string', enum: [...ORDER_STATUSES] },
          createdAt: { type: 'string', format: 'date-time' },
        },
      },
      NewOrder: {
        type: 'object',
        additionalProperties: false,
        required: ['item', 'quantity'],
        properties: {
          item: { type: 'string', minLength: 1, maxLength: 200 },
          quantity: { type: 'integer', minimum: 1, maximum: 1000 },
        },
      },
      OrderList: {
        type: 'object',
        required: ['orders'],
        properties: { orders: { type: 'array', items: { $ref: '#/components/schemas/Order' } } },
      },
      Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
      DebugRequest: {
        type: 'object',
        required: ['method', 'path', 'query', 'headers', 'rawHeaders'],
        properties: {
          method: { type: 'string' },
          path: { type: 'string' },
          query: { type: 'string', description: "Raw query string without '?'." },
          headers: {
            type: 'object',
            additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          },
          rawHeaders: {
            type: 'array',
            description: 'Header name/value pairs exactly as received, duplicates and case kept.',
            items: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'string' }], minItems: 2, maxItems: 2 },
          },
        },
      },
      Problem: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
        properties: {
          type: { type: 'string', format: 'uri' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          code: { type: 'string' },
          requestId: { type: 'string' },
        },
      },
    },
  },
} as const;
