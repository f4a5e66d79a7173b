// `cortex dev`: the gateway, the demo orders API and the admin listener on one machine, with no
// outside service. State lives under .cortex/dev/ in the working directory.
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { devConfigText } from '../dev/config.ts';
import { startOrdersApi } from '../dev/orders-api.ts';
import { devAdminToken, devDir, writeDevState } from '../dev/state.ts';
import { ensureLocalTls } from '../dev/tls.ts';
import { createLogger } from '../telemetry/logger.ts';
import { runUntilSignal } from './run-gateway.ts';

export async function runDev(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      'admin-port': { type: 'string', default: '9901' },
      'orders-port': { type: 'string', default: '9903' },
      tls: { type: 'boolean', default: false },
    },
  });
  const dir = devDir();
  const token = devAdminToken(dir);
  const rel = relative(process.cwd(), dir) || '.';
  // --tls: a local CA and a certificate for localhost, 127.0.0.1 and ::1, made once under
  // .cortex/dev/tls/ and reused (regenerated when close to expiry).
  const tls = values.tls ? await ensureLocalTls(join(dir, 'tls')) : undefined;
  const orders = await startOrdersApi({ host: '127.0.0.1', port: Number(values['orders-port']) });
  const auditPath = join(dir, 'audit.jsonl');
  const log = createLogger({ level: process.env.CORTEX_LOG_LEVEL ?? 'info', name: 'cortex-dev' });
  const started = await runUntilSignal(
    {
      configText: devConfigText({
        gatewayPort: Number(values.port),
        adminPort: Number(values['admin-port']),
        ordersUrl: orders.url,
        auditPath,
        ...(tls === undefined ? {} : { tls: { cert: tls.cert, key: tls.key } }),
      }),
      env: { ...process.env, CORTEX_ADMIN_TOKEN: token },
      log,
      readiness: { 'orders-api': () => orders.listening() },
    },
    () => orders.close(),
  );
  if (typeof started === 'number') {
    await orders.close();
    return started;
  }
  const { gateway, admin } = started.runtime.addresses;
  // With TLS the URL names localhost: the name the certificate is for and that clients check.
  const gatewayUrl = tls === undefined ? `http://${gateway.address}:${gateway.port}` : `https://localhost:${gateway.port}`;
  const adminUrl = `http://${admin.host}:${admin.port}`;
  writeDevState({ gatewayUrl, adminUrl, ordersUrl: orders.url, pid: process.pid, startedAt: new Date().toISOString() }, dir);
  const caPath = tls === undefined ? '' : join(rel, 'tls', 'ca.pem');
  const gatewayLine =
    tls === undefined
      ? [`  gateway    ${gatewayUrl}   (try: curl ${gatewayUrl}/orders)`]
      : [
          `  gateway    ${gatewayUrl}   (HTTPS: HTTP/2 by ALPN, or HTTP/1.1)`,
          `  local CA   ${caPath}   (${tls.generated.includes('ca') ? 'new; ' : ''}trust this CA: it signed the certificate for localhost, 127.0.0.1, ::1)`,
          `             try: curl --cacert ${caPath} ${gatewayUrl}/orders`,
          `                  curl --http2 --cacert ${caPath} ${gatewayUrl}/orders`,
        ];
  console.log(
    [
      '',
      'Cortex dev is running.',
      ...gatewayLine,
      `  admin      ${adminUrl}   (/healthz /readyz /metrics; /api/* needs the token)`,
      `  orders API ${orders.url}   (the demo upstream, reached through the gateway)`,
      `  audit log  ${join(rel, 'audit.jsonl')}   (one JSON line per request)`,
      `  admin token in ${join(rel, 'admin-token')}`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  return started.stopped;
}
