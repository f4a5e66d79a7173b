// Starts a real gateway (and its admin listener) on port 0 from YAML, with its audit trail in a
// temp file the test can read back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, RequestAuditEvent } from '../../src/audit/event.ts';
import { startRuntime } from '../../src/cli/run-gateway.ts';
import type { Runtime } from '../../src/cli/run-gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

export interface TestGateway {
  runtime: Runtime;
  url: string;
  port: number;
  adminUrl: string;
  dir: string;
  configFile: string;
  /** Flushes the audit sink and returns every request event so far (system events: see test/integration/audit/). */
  audit(): Promise<RequestAuditEvent[]>;
  /** Rewrites the config file (same ports) and reloads; returns the reload result. */
  rewrite(yamlBody: string): ReturnType<Runtime['gateway']['reload']>;
  close(): Promise<void>;
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** `body` is the config without version/listen/audit, e.g. `upstreams: ...\nroutes: ...`. */
export async function startTestGateway(
  body: string,
  opts: {
    env?: NodeJS.ProcessEnv;
    watch?: boolean;
    /** More `gateway:` keys, e.g. `tls: {...}`. */
    gateway?: string;
    /** A fixed port (a login redirect URI has to name it); 0 by default. */
    port?: number;
    /** A directory the caller owns (kept on close, e.g. for a store that outlives a restart); a temp dir by default. */
    dir?: string;
    /** The clock of the signing key ring and assertion lifetimes. */
    now?: () => number;
  } = {},
): Promise<TestGateway> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cortex-test-'));
  const auditFile = join(dir, 'audit.jsonl');
  const configFile = join(dir, 'cortex.yaml');
  const render = (b: string) =>
    [
      'version: 1',
      'gateway:',
      `  listen: { host: 127.0.0.1, port: ${opts.port ?? 0} }`,
      ...(opts.gateway ? [`  ${opts.gateway}`] : []),
      'admin:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      `  token: ${ADMIN_TOKEN}`,
      'audit:',
      `  sinks: [{ type: jsonl, path: ${JSON.stringify(auditFile)} }]`,
      'log: { level: silent }',
      b,
    ].join('\n');
  writeFileSync(configFile, render(body));
  let runtime: Runtime;
  try {
    runtime = await startRuntime({
      configFile,
      env: { ...process.env, ...opts.env },
      log: createLogger({ level: 'silent' }),
      watch: opts.watch ?? false,
      ...(opts.now ? { now: opts.now } : {}),
    });
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true }); // a config that does not start leaves no temp dir
    throw err;
  }
  const port = runtime.addresses.gateway.port;
  return {
    runtime,
    url: `http://127.0.0.1:${port}`,
    port,
    adminUrl: `http://127.0.0.1:${runtime.addresses.admin.port}`,
    dir,
    configFile,
    async audit() {
      await runtime.gateway.flushAudit();
      return readJsonlAudit(auditFile).filter((e): e is RequestAuditEvent => e.type === 'request');
    },
    rewrite(b) {
      writeFileSync(configFile, render(b));
      return runtime.gateway.reload();
    },
    async close() {
      await runtime.close(1_000);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every event in a JSON-lines audit file (none when it does not exist yet). */
export function readJsonlAudit(file: string): AuditEvent[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { event: AuditEvent }).event);
}
