// A tiny Express upstream that trusts only the Cortex assertion and echoes the caller.
// Run: CORTEX_ISSUER=http://127.0.0.1:8080 CORTEX_AUDIENCE=orders PORT=3000 node examples/verify/express.ts
import type { AddressInfo } from 'node:net';
import express from 'express';
import { cortexExpress, createVerifier, expressCaller } from '@cortex-gateway/verify';

const verifier = createVerifier({
  issuer: process.env.CORTEX_ISSUER ?? 'http://127.0.0.1:8080',
  audience: process.env.CORTEX_AUDIENCE ?? 'orders',
  jwksUri: process.env.CORTEX_JWKS_URI, // default: <issuer>/.cortex/jwks.json
});

const app = express();
app.use(cortexExpress(verifier));
app.use((req, res) => {
  res.json({ framework: 'express', caller: expressCaller(req) });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
