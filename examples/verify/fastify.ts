// A tiny Fastify upstream that trusts only the Cortex assertion and echoes the caller.
// Run: CORTEX_ISSUER=http://127.0.0.1:8080 CORTEX_AUDIENCE=orders PORT=3000 node examples/verify/fastify.ts
import Fastify from 'fastify';
import { cortexFastify, createVerifier, fastifyCaller } from '@cortex-gateway/verify';

const verifier = createVerifier({
  issuer: process.env.CORTEX_ISSUER ?? 'http://127.0.0.1:8080',
  audience: process.env.CORTEX_AUDIENCE ?? 'orders',
  jwksUri: process.env.CORTEX_JWKS_URI, // default: <issuer>/.cortex/jwks.json
});

const app = Fastify();
await app.register(cortexFastify(verifier));
app.get('/*', (request) => ({ framework: 'fastify', caller: fastifyCaller(request) }));

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${address}\n`);
