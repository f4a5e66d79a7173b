// A real gateway (startRuntime, as `cortex serve` runs it) whose log lines are captured through a
// pino destination stream, so a test can prove that no secret value ever reaches the log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startRuntime } from '../../../src/cli/run-gateway.ts';
import type { Runtime } from '../../../src/cli/run-gateway.ts';
import { REDACT_PATHS, REDACTED } from '../../../src/telemetry/logger.ts';

export interface LoggedGateway {
  runtime: Runtime;
  url: string;
  dir: string;
  lines: string[];
  rewrite(body: string): ReturnType<Runtime['gateway']['reload']>;
  close(): Promise<void>;
}

export async function startLoggedGateway(body: string, env: NodeJS.ProcessEnv = {}): Promise<LoggedGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-upstream-secrets-'));
  const configFile = join(dir, 'cortex.yaml');
  const render = (b: string) =>
    ['version: 1', 'gateway:', '  listen: { host: 127.0.0.1, port: 0 }', 'admin:', '  listen: { host: 127.0.0.1, port: 0 }', 'audit:', `  sinks: [{ type: jsonl, path: ${JSON.stringify(join(dir, 'audit.jsonl'))} }]`, 'log: { level: debug }', b].join('\n');
  writeFileSync(configFile, render(body));
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  // The production logger's redaction, so the test sees what production would write.
  const log = pino({ level: 'debug', redact: { paths: [...REDACT_PATHS], censor: REDACTED } }, stream);
  const runtime = await startRuntime({ configFile, env: { ...process.env, CORTEX_LOG_LEVEL: 'debug', ...env }, log, watch: false });
  return {
    runtime,
    url: `http://127.0.0.1:${runtime.addresses.gateway.port}`,
    dir,
    lines,
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
