// A real gateway whose logs (the production logger's options, at debug) are captured line by line,
// with a JSON-lines audit sink the test reads back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startRuntime } from '../../../src/cli/run-gateway.ts';
import type { Runtime } from '../../../src/cli/run-gateway.ts';
import { loggerOptions } from '../../../src/telemetry/logger.ts';
import { providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

export interface LoggedGateway {
  runtime: Runtime;
  url: string;
  adminUrl: string;
  dir: string;
  lines: string[];
  auditLines(): Promise<string[]>;
  rewrite(body: string): ReturnType<Runtime['gateway']['reload']>;
  close(): Promise<void>;
}

export async function startLoggedGateway(body: string, dir = mkdtempSync(join(tmpdir(), 'cortex-telemetry-'))): Promise<LoggedGateway> {
  const configFile = join(dir, 'cortex.yaml');
  const auditFile = join(dir, 'audit.jsonl');
  const render = (b: string) =>
    [
      'version: 1',
      'gateway:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      'admin:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      'audit:',
      `  sinks: [{ type: jsonl, path: ${JSON.stringify(auditFile)} }]`,
      'log: { level: debug }',
      b,
    ].join('\n');
  writeFileSync(configFile, render(body));
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const log = pino(loggerOptions('debug', 'cortex'), stream);
  const runtime = await startRuntime({ configFile, env: { ...process.env, CORTEX_LOG_LEVEL: 'debug' }, log, watch: false });
  return {
    runtime,
    url: `http://127.0.0.1:${runtime.addresses.gateway.port}`,
    adminUrl: `http://127.0.0.1:${runtime.addresses.admin.port}`,
    dir,
    lines,
    async auditLines() {
      await runtime.gateway.flushAudit();
      try {
        return readFileSync(auditFile, 'utf8').split('\n').filter((l) => l !== '');
      } catch {
        return [];
      }
    },
    rewrite(b) {
      writeFileSync(configFile, render(b));
      return runtime.gateway.reload();
    },
    async close() {
      await runtime.close({ drainDelayMs: 0, graceMs: 1_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface OrdersLoggedGateway {
  idp: TestIdp;
  upstream: TestUpstream;
  gw: LoggedGateway;
  close(): Promise<void>;
}

/**
 * A test IdP (its admins may do orders:*), a recording upstream `up` and a logged gateway routing
 * GET /orders to it (route `list`, intent orders:read), ready once the IdP's keys are in. `more`
 * adds YAML lines: `top` before the identity section, `upstreams` and `routes` to those sections.
 */
export async function startOrdersLoggedGateway(more: { top?: string[]; upstreams?: string[]; routes?: string[] } = {}): Promise<OrdersLoggedGateway> {
  const idp = await startTestIdp();
  const upstream = await startUpstream();
  const gw = await startLoggedGateway(
    [
      ...(more.top ?? []),
      'identity:',
      '  providers:',
      providerYaml('dev', idp, ['roles: { claim: groups, map: { admins: [admin], customers: [customer] } }']),
      'policy:',
      '  grants:',
      '    admin: ["orders:*"]',
      'upstreams:',
      `  up: { url: "${upstream.url}" }`,
      ...(more.upstreams ?? []).map((l) => `  ${l}`),
      'routes:',
      '  list: { match: { methods: [GET], path: /orders }, upstream: up, intent: "orders:read" }',
      ...(more.routes ?? []).map((l) => `  ${l}`),
    ].join('\n'),
  );
  await waitIdentityReady(gw);
  return {
    idp,
    upstream,
    gw,
    async close() {
      await gw.close();
      await upstream.close();
      await idp.close();
    },
  };
}
