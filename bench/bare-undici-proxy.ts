// The floor of what a Node reverse proxy costs: node:http in, undici Pool.stream out, nothing else.
// Usage: node bench/bare-undici-proxy.ts --port 8081 --upstream http://127.0.0.1:8082 [--connections 128]
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    upstream: { type: 'string' },
    connections: { type: 'string', default: '128' },
  },
});
if (values.port === undefined || values.upstream === undefined) {
  console.error('usage: bare-undici-proxy.ts --port N --upstream URL [--connections 128]');
  process.exit(2);
}

const pool = new Pool(values.upstream, { connections: Number(values.connections), pipelining: 1 });

// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded; undici refuses most of them anyway.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

function strip(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v !== undefined && !HOP.has(name)) out[name] = v;
  }
  return out;
}

const server = http.createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    { method: req.method ?? 'GET', path: req.url ?? '/', headers: strip(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, strip(headers));
      return res;
    },
    (err) => {
      if (err === null) return;
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
    },
  );
});
server.keepAliveTimeout = 300_000;
server.listen(Number(values.port), values.host, () => {
  console.log(`bare undici proxy on http://${values.host}:${values.port} -> ${values.upstream}`);
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    server.close();
    server.closeAllConnections();
    void pool.close().finally(() => process.exit(0));
  });
}
