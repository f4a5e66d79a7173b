// Shared YAML for the config tests: a valid file to start from, and helpers to load text.
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/load.ts';
import type { ConfigProblem, LoadOptions } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/schema.ts';

/** Removes the common indentation, so YAML can be written indented inside a test. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const indents = text.split('\n').filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)?.[0].length ?? 0);
  const indent = Math.min(...indents);
  return text
    .split('\n')
    .map((line) => line.slice(indent))
    .join('\n')
    .replace(/\s+$/, '\n');
}

export const VALID = yaml`
  version: 1
  gateway:
    listen:
      host: 127.0.0.1
      port: 8080
    trustedProxies: [10.0.0.0/8, "::1", 192.168.1.7]
  admin:
    listen: { host: 127.0.0.1, port: 9901 }
  upstreams:
    orders:
      url: http://127.0.0.1:9903
  routes:
    orders-list:
      match:
        methods: [GET]
        path: /orders
      upstream: orders
    orders-read:
      match: { methods: [GET], path: "/orders/{id}" }
      upstream: orders
      rewrite: { template: "/v2/orders/{id}" }
  identity:
    providers:
      corp: { issuer: "https://idp.example.com", audiences: [orders-api] }
`;

export function load(text: string, opts: Omit<LoadOptions, 'text'> = {}): { config: Config; warnings: ConfigProblem[] } {
  const result = loadConfig({ text, env: {}, ...opts });
  assert.ok(result.ok, `expected a valid config, got ${JSON.stringify(result.ok ? [] : result.errors, null, 2)}`);
  return result;
}

export function errorsOf(text: string, opts: Omit<LoadOptions, 'text'> = {}): ConfigProblem[] {
  const result = loadConfig({ text, env: {}, ...opts });
  assert.ok(!result.ok, 'expected the config to be rejected');
  return result.errors;
}

/** The errors as `path @line: message`, which reads well in a failed assertion. */
export function summary(problems: readonly ConfigProblem[]): string[] {
  return problems.map((p) => `${p.path} @${p.line ?? '-'}: ${p.message}`);
}
