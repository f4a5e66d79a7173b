// A gateway for the tamper-evidence tests: its key ring in a file (the CLI reads the public keys
// from it), the trail in the sink the test names, checkpoints in a file beside it; and the CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAuditVerify } from '../../../src/cli/audit-verify.ts';
import { startRuntime } from '../../../src/cli/run-gateway.ts';
import type { Runtime } from '../../../src/cli/run-gateway.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const KEK = 'verify-test-key-encryption-key-0123456789';

export interface VerifyGateway {
  runtime: Runtime;
  url: string;
  configFile: string;
  db: string;
  checkpoints: string;
}

/** `sink` is one YAML flow mapping; `$DB` in it is replaced by a database file in `dir`. */
export async function startVerifyGateway(dir: string, upstreamUrl: string, sink: string, extra: string[] = []): Promise<VerifyGateway> {
  const db = join(dir, 'audit.db');
  const checkpoints = join(dir, 'checkpoints.jsonl');
  const configFile = join(dir, 'cortex.yaml');
  writeFileSync(
    configFile,
    [
      'version: 1',
      'gateway:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      'admin:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      'credentials:',
      '  signingKeys:',
      `    store: { type: file, path: ${JSON.stringify(join(dir, 'keys.json'))} }`,
      `    encryptionKey: ${KEK}`,
      'audit:',
      `  sinks: [${sink.replace('$DB', JSON.stringify(db))}]`,
      `  spool: { dir: ${JSON.stringify(join(dir, 'spool'))} }`,
      `  checkpoints: { type: file, path: ${JSON.stringify(checkpoints)} }`,
      '  batch: { maxDelayMs: 5 }',
      ...extra,
      'log: { level: silent }',
      'upstreams:',
      `  echo: { url: "${upstreamUrl}" }`,
      'routes:',
      '  api: { match: { prefix: /api/ }, upstream: echo, auth: none }',
    ].join('\n'),
  );
  const runtime = await startRuntime({ configFile, log: createLogger({ level: 'silent' }), watch: false });
  return { runtime, url: `http://127.0.0.1:${runtime.addresses.gateway.port}`, configFile, db, checkpoints };
}

export async function verify(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditVerify(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

