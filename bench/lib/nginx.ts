// nginx from Debian: the tool check (installs nginx, wrk and taskset with apt-get where missing),
// config rendering for the cheap upstream and for the reverse-proxy baseline, and starting an
// nginx instance in the foreground under its own prefix in bench/.work/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIPHERS } from '../../src/gateway/tls.ts';
import { runPinned, startPinned, waitForPort, type Started } from './processes.ts';

const TOOLS: Record<string, string> = { nginx: 'nginx', wrk: 'wrk', taskset: 'util-linux', h2load: 'nghttp2-client' };

/** TLS for the nginx baseline: the scenario's certificate, and Cortex's TLS settings. */
export interface NginxTls {
  cert: string;
  key: string;
  http2: boolean;
}

export async function which(cmd: string): Promise<string | undefined> {
  const r = await runPinned(undefined, 'sh', ['-c', `command -v ${cmd}`]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Makes sure nginx, wrk, h2load and taskset exist; installs the missing ones with apt-get and says so. */
export async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const [cmd, pkg] of Object.entries(TOOLS)) if ((await which(cmd)) === undefined) missing.push(pkg);
  if (missing.length === 0) return;
  console.log(`bench: installing missing tools with apt-get: ${missing.join(' ')}`);
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')} and not root: apt-get install -y ${missing.join(' ')}`);
  const update = await runPinned(undefined, 'apt-get', ['update', '-qq']);
  if (update.code !== 0) throw new Error(`apt-get update failed:\n${update.stderr}`);
  const install = await runPinned(undefined, 'env', [
    'DEBIAN_FRONTEND=noninteractive',
    'apt-get',
    'install',
    '-y',
    '-qq',
    '--no-install-recommends',
    ...missing,
  ]);
  if (install.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${install.stderr}`);
  console.log(`bench: installed ${missing.join(' ')}`);
  // Debian's postinst may start the system nginx on :80; it does not disturb us (we use our own
  // ports and prefixes), but say so.
  if (missing.includes('nginx')) console.log('bench: note: the nginx package may have started a system nginx on :80');
}

export async function nginxVersion(): Promise<string> {
  const r = await runPinned(undefined, 'nginx', ['-v']);
  return (r.stderr || r.stdout).trim().replace(/^nginx version:\s*/, '');
}

function common(prefix: string): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events {
    worker_connections 4096;
}
`;
}

function httpCommon(prefix: string): string {
  return `    access_log off;
    client_body_temp_path ${join(prefix, 'client_body')};
    proxy_temp_path ${join(prefix, 'proxy')};
    fastcgi_temp_path ${join(prefix, 'fastcgi')};
    uwsgi_temp_path ${join(prefix, 'uwsgi')};
    scgi_temp_path ${join(prefix, 'scgi')};
    default_type text/plain;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
`;
}

/** The cheap upstream: `return 200 "ok\n"`, keep-alive, one worker. */
export function renderUpstreamConf(prefix: string, port: number): string {
  return `${common(prefix)}http {
${httpCommon(prefix)}
    server {
        listen 127.0.0.1:${port} backlog=4096;
        location / {
            return 200 "ok\\n";
        }
        # The policy scenario's attribute source: an order's owner is its id (/orders/user-0042).
        location ~ ^/lookup/orders/([A-Za-z0-9_-]+)$ {
            default_type application/json;
            return 200 '{"owner":"$1"}';
        }
    }
}
`;
}

/**
 * nginx's TLS settings matching Cortex's (src/gateway/tls.ts): TLS 1.2 and 1.3, for TLS 1.2 only
 * ECDHE key exchange with AEAD ciphers in Cortex's order, server order preferred. TLS 1.3 suites are
 * OpenSSL's defaults on both sides. Session resumption is left at each one's default (keep-alive
 * connections make handshakes rare in this bench).
 */
function tlsDirectives(tls: NginxTls): string {
  const tls12 = CIPHERS.split(':').filter((c) => !c.startsWith('TLS_')).join(':');
  return `        ssl_certificate ${tls.cert};
        ssl_certificate_key ${tls.key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ${tls12};
        ssl_prefer_server_ciphers on;
`;
}

/**
 * The baseline reverse proxy: one worker, HTTP/1.1 keep-alive to the upstream (pool of 64); with
 * tls, \`listen ssl\` (and \`http2\` when asked: ALPN then offers h2 and http/1.1, as Cortex does).
 */
export function renderProxyConf(prefix: string, port: number, upstreamPort: number, tls?: NginxTls): string {
  // nginx 1.22 (Debian 12) takes http2 as a listen parameter; newer ones accept it with a warning.
  const listen = tls === undefined ? '' : tls.http2 ? ' ssl http2' : ' ssl';
  return `${common(prefix)}http {
${httpCommon(prefix)}
    upstream backend {
        server 127.0.0.1:${upstreamPort};
        keepalive 64;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:${port}${listen} backlog=4096;
${tls === undefined ? '' : tlsDirectives(tls)}        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }
    }
}
`;
}

/** Writes conf into workDir/<name>/nginx.conf, starts nginx pinned to cpu, waits for its port. */
export async function startNginx(opts: {
  name: string;
  workDir: string;
  cpu: number;
  port: number;
  conf: (prefix: string) => string;
}): Promise<Started> {
  const prefix = join(opts.workDir, opts.name);
  mkdirSync(prefix, { recursive: true });
  const confFile = join(prefix, 'nginx.conf');
  writeFileSync(confFile, opts.conf(prefix));
  const test = await runPinned(undefined, 'nginx', ['-t', '-q', '-p', prefix, '-e', join(prefix, 'error.log'), '-c', confFile]);
  if (test.code !== 0) throw new Error(`nginx -t failed for ${confFile}:\n${test.stderr}`);
  const p = startPinned({
    name: opts.name,
    cpu: opts.cpu,
    command: 'nginx',
    args: ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', confFile],
    logFile: join(prefix, 'stdout.log'),
  });
  await waitForPort(p, '127.0.0.1', opts.port);
  return p;
}
