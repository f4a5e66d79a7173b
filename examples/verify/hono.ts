// A tiny Hono upstream (served by @hono/node-server) that trusts only the Cortex assertion and
// echoes the caller.
// Run: CORTEX_ISSUER=http://127.0.0.1:8080 CORTEX_AUDIENCE=orders PORT=3000 node examples/verify/hono.ts
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { cortexHono, createVerifier, type CortexHonoEnv } from '@cortex-gateway/verify';

const verifier = createVerifier({
  issuer: process.env.CORTEX_ISSUER ?? 'http://127.0.0.1:8080',
  audience: process.env.CORTEX_AUDIENCE ?? 'orders',
  jwksUri: process.env.CORTEX_JWKS_URI, // default: <issuer>/.cortex/jwks.json
});

const app = new Hono<CortexHonoEnv>();
app.use(cortexHono(verifier));
app.all('*', (c) => c.json({ framework: 'hono', caller: c.get('cortex') }));

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening http://127.0.0.1:${info.port}\n`);
});
