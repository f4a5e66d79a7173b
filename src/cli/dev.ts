// `cortex dev`: the gateway, the demo orders API and the admin listener on one machine, with no
// outside service. State lives under .cortex/dev/ in the working directory.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { devConfigText } from '../dev/config.ts';
import { startDevIdp } from '../dev/idp/index.ts';
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
      'idp-port': { type: 'string', default: '9902' },
      tls: { type: 'boolean', default: false },
    },
  });
  const dir = devDir();
  const token = devAdminToken(dir);
  const rel = relative(process.cwd(), dir) || '.';
  // --tls: a local CA and a certificate for localhost, 127.0.0.1 and ::1, made once under
  // .cortex/dev/tls/ and reused (regenerated when close to expiry).
  const tls = values.tls ? await ensureLocalTls(join(dir, 'tls')) : undefined;
  const log = createLogger({ level: process.env.CORTEX_LOG_LEVEL ?? 'info', name: 'cortex-dev' });
  // The login redirect URI names the gateway's port, and the IdP must know it before the gateway
  // starts (the gateway's config names the IdP): with --port 0, a free port is chosen here.
  const gatewayPort = Number(values.port) === 0 ? await freePort() : Number(values.port);
  const origin = `${tls ? 'https' : 'http'}://localhost:${gatewayPort}`;
  // The admin login's redirect URI names the admin port too (and the kit below may need it).
  const adminPort = Number(values['admin-port']) === 0 ? await freePort() : Number(values['admin-port']);
  const idp = await startDevIdp({
    host: '127.0.0.1',
    port: Number(values['idp-port']),
    stateDir: join(dir, 'idp'),
    log: log.child({ component: 'dev-idp' }),
    webRedirectUris: [`${origin}/.cortex/callback`],
    postLogoutRedirectUris: [`${origin}/`],
    adminRedirectUris: [`http://127.0.0.1:${adminPort}/auth/callback`],
  });
  // The orders API trusts only the assertion Cortex signs (audience: its upstream name). The kit
  // fetches the JWKS at the first request, once the gateway listens; over TLS from the admin
  // listener, since the kit does not trust the local CA.
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${gatewayPort}`;
  const jwksUri = tls ? `http://127.0.0.1:${adminPort}/jwks.json` : `${issuer}/.cortex/jwks.json`;
  const orders = await startOrdersApi({ host: '127.0.0.1', port: Number(values['orders-port']), assertion: { issuer, audience: 'orders', jwksUri } });
  const auditPath = join(dir, 'audit.jsonl');
  const stopDemo = async () => {
    await Promise.all([orders.close(), idp.close()]);
  };
  const started = await runUntilSignal(
    {
      configText: devConfigText({
        gatewayPort,
        adminPort,
        ordersUrl: orders.url,
        auditPath,
        apiKeysPath: join(dir, 'api-keys.db'),
        signingKeysPath: join(dir, 'signing-keys.json'),
        idpIssuer: idp.issuer,
        ...(tls === undefined ? {} : { tls: { cert: tls.cert, key: tls.key } }),
      }),
      env: {
        ...process.env,
        CORTEX_ADMIN_TOKEN: token,
        CORTEX_DEV_INTROSPECTION_SECRET: idp.clients['cortex-gateway']?.clientSecret ?? '',
        CORTEX_DEV_WEB_CLIENT_SECRET: idp.clients['cortex-web']?.clientSecret ?? '',
        CORTEX_DEV_ADMIN_CLIENT_SECRET: idp.clients['cortex-admin']?.clientSecret ?? '',
        // Sessions live in memory: a new secret each run costs nothing.
        CORTEX_DEV_SESSION_SECRET: randomBytes(32).toString('base64url'),
      },
      log,
      readiness: { 'orders-api': () => orders.listening() },
    },
    stopDemo,
  );
  if (typeof started === 'number') {
    await stopDemo();
    return started;
  }
  // The dev IdP is local: its keys and metadata arrive within moments. Waiting for them means the first
  // request a newcomer sends is never answered 503 authn.provider_unavailable.
  await waitFor(() => started.runtime.gateway.readiness().ready, 10_000);
  // The demo's consent: bob has granted the assistant agent (cortex dev token --agent assistant --for bob); alice has not.
  await started.runtime.gateway.exchange?.grants.grant({ issuer: idp.issuer, subject: 'bob', agent: 'assistant', createdBy: 'cortex dev' });
  const { gateway, admin } = started.runtime.addresses;
  // With TLS the URL names localhost: the name the certificate is for and that clients check.
  const gatewayUrl = tls === undefined ? `http://${gateway.address}:${gateway.port}` : `https://localhost:${gateway.port}`;
  const adminUrl = `http://${admin.host}:${admin.port}`;
  writeDevState({ gatewayUrl, adminUrl, ordersUrl: orders.url, pid: process.pid, startedAt: new Date().toISOString() }, dir);
  const caPath = tls === undefined ? '' : join(rel, 'tls', 'ca.pem');
  const gatewayLine =
    tls === undefined
      ? [
          `  gateway    ${gatewayUrl}`,
          `             try: curl -H "authorization: Bearer $(npx cortex dev token --as alice)" ${gatewayUrl}/orders`,
        ]
      : [
          `  gateway    ${gatewayUrl}   (HTTPS: HTTP/2 by ALPN, or HTTP/1.1)`,
          `  local CA   ${caPath}   (${tls.generated.includes('ca') ? 'new; ' : ''}trust this CA: it signed the certificate for localhost, 127.0.0.1, ::1)`,
          `             try: curl --cacert ${caPath} -H "authorization: Bearer $(npx cortex dev token --as alice)" ${gatewayUrl}/orders`,
          `                  curl --http2 --cacert ${caPath} -H "authorization: Bearer $(npx cortex dev token --as bob)" ${gatewayUrl}/orders`,
        ];
  console.log(
    [
      '',
      'Cortex dev is running.',
      ...gatewayLine,
      `  admin      ${adminUrl}   (the dashboard: log in as alice, or with the admin token; /api/* needs either)`,
      `  demo page  ${origin}/   (open it in a browser; sign in as alice, bob or carol)`,
      `  orders API ${orders.url}   (the demo upstream, reached through the gateway)`,
      `  identity   ${idp.issuer}   (OpenID provider; people alice, bob, carol; service reporting; agent assistant)`,
      `             tokens: npx cortex dev token --as alice | --service reporting | --agent assistant --for bob`,
      `  audit log  ${join(rel, 'audit.jsonl')}   (one JSON line per request)`,
      `  admin token in ${join(rel, 'admin-token')}`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  return started.stopped;
}

async function waitFor(ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
