// The bearer scenarios' setup: the dev IdP in the bench process, 1,000 users' access tokens from it
// (written to a file the load generators rotate through), and the gateway config that accepts them.
import { join } from 'node:path';
import { benchSubjects, jwtSubject, startBenchIdp, writeTokens } from './idp.ts';
import type { Prepared, ScenarioContext } from '../scenarios.ts';

export const BENCH_USERS = 1000;
const PROVIDER = 'bench-idp';

/** base (a passthrough config) with the provider from ctx.identity and `auth: bearer` on every route. */
export function bearerConfig(
  base: Record<string, unknown>,
  ctx: ScenarioContext,
  cache: { maxEntries?: number } = {},
): Record<string, unknown> {
  const id = ctx.identity;
  if (id === undefined) throw new Error('bearer scenario: prepare() did not start the identity provider');
  const routes = Object.fromEntries(
    Object.entries(base.routes as Record<string, Record<string, unknown>>).map(([name, r]) => [name, { ...r, auth: 'bearer' }]),
  );
  return {
    ...base,
    identity: {
      providers: { [PROVIDER]: { issuer: id.issuer, audiences: [id.audience] } },
      ...(cache.maxEntries === undefined ? {} : { tokenCache: { maxEntries: cache.maxEntries } }),
    },
    routes,
  };
}

export async function prepareBearer(ctx: ScenarioContext, o: { cache: boolean }): Promise<Prepared> {
  const idp = await startBenchIdp();
  try {
    const subjects = benchSubjects(BENCH_USERS);
    const minted = await idp.mint(subjects);
    const distinct = new Set(minted.tokens.map(jwtSubject)).size;
    if (distinct !== BENCH_USERS) throw new Error(`bearer scenario: ${distinct} distinct subjects among ${BENCH_USERS} tokens`);
    const tokensFile = join(ctx.dir, 'tokens.txt');
    writeTokens(tokensFile, minted.tokens);
    ctx.identity = { issuer: idp.issuer, audience: idp.audience };
    const rate = Math.round(minted.perSecond).toLocaleString('en-US');
    const notes = [
      `Tokens: ${BENCH_USERS.toLocaleString('en-US')} access tokens (RS256, typ at+jwt, ${minted.tokens[0]!.length} bytes each), ` +
        `subjects ${subjects[0]} … ${subjects.at(-1)}, minted by the provider's dev grant (\`${'urn:cortex:dev:token'}\`, 16 requests ` +
        `in flight) in ${minted.seconds.toFixed(2)} s: ${rate} tokens/s. The grant only issues tokens for the demo people, so ` +
        'each is asked for as one of them with a `claims` override of `sub` (and `groups`), which the provider signs like any other claim.',
    ];
    if (!o.cache) {
      notes.push(
        `Why the cache is off rather than a fresh token per request: at ${rate} tokens/s the provider mints more slowly than the ` +
          'gateway verifies, so pre-minting one token per request for a run would take longer than the run itself (see the count below) ' +
          'and hand the load generators hundreds of thousands of tokens. With `tokenCache.maxEntries: 0` each request pays the same ' +
          'verification as a token never seen before.',
      );
    }
    return { tokensFile, sanityToken: minted.tokens[0], notes, mintPerSecond: minted.perSecond, close: () => idp.close() };
  } catch (err) {
    await idp.close();
    throw err;
  }
}
