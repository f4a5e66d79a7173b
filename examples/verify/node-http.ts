// A tiny upstream on plain node:http that trusts only the Cortex assertion and echoes the caller.
// Run: CORTEX_ISSUER=http://127.0.0.1:8080 CORTEX_AUDIENCE=orders PORT=3000 node examples/verify/node-http.ts
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, withCortex } from '@cortex-gateway/verify';

const verifier = createVerifier({
  issuer: process.env.CORTEX_ISSUER ?? 'http://127.0.0.1:8080',
  audience: process.env.CORTEX_AUDIENCE ?? 'orders',
  jwksUri: process.env.CORTEX_JWKS_URI, // default: <issuer>/.cortex/jwks.json
});

const server = http.createServer(
  withCortex(verifier, (req, res) => {
    const body = JSON.stringify({ framework: 'node:http', caller: req.cortex });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }),
);

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
