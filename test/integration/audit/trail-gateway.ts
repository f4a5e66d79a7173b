// A real gateway with the audit section a trail test chooses (durable sinks, spool, failClosed),
// an echo upstream behind /api/, and a TCP proxy the test can cut between Cortex and PostgreSQL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRuntime } from '../../../src/cli/run-gateway.ts';
import type { Runtime } from '../../../src/cli/run-gateway.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function tempDir(t: { after(fn: () => void | Promise<void>): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-trail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TrailGateway {
  runtime: Runtime;
  url: string;
  adminUrl: string;
  /** A sample of the admin /metrics: the value of one series, 0 when absent. */
  metric(series: string): Promise<number>;
  close(): Promise<void>;
}

/** `audit` is the YAML body of the audit section, indented by four spaces per level below `audit:`. */
export async function startTrailGateway(upstreamUrl: string, dir: string, audit: string): Promise<TrailGateway> {
  const configFile = join(dir, `cortex-${Date.now()}.yaml`);
  writeFileSync(
    configFile,
    [
      'version: 1',
      'gateway:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      'admin:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      'audit:',
      audit,
      'log: { level: silent }',
      'upstreams:',
      `  echo: { url: "${upstreamUrl}" }`,
      'routes:',
      '  api: { match: { prefix: /api/ }, upstream: echo, auth: none }',
    ].join('\n'),
  );
  const runtime = await startRuntime({ configFile, log: createLogger({ level: 'silent' }), watch: false });
  const adminUrl = `http://127.0.0.1:${runtime.addresses.admin.port}`;
  return {
    runtime,
    url: `http://127.0.0.1:${runtime.addresses.gateway.port}`,
    adminUrl,
    async metric(series) {
      const text = await (await fetch(`${adminUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    },
    close: () => runtime.close(1_000),
  };
}

export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones (they are accepted and closed at once). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A node:net proxy on port 0 to `target`: the test's switch between Cortex and the shared server. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let open = true;
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    track(upstream);
    upstream.connect(targetPort, targetHost);
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
