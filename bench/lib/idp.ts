// The identity provider for the bearer scenarios: the dev IdP (a real oidc-provider, RS256, in the
// bench process) and access tokens minted through its own dev grant, one per bench user.
import { writeFileSync } from 'node:fs';
import { DEV_GRANT, GATEWAY_AUDIENCE, startIdpHost, type IdpHost } from '../../src/dev/idp/index.ts';

export interface BenchIdp {
  issuer: string;
  audience: string;
  /** Mints one access token per subject (claims: extra claims for a subject's token); returns them in order, with the minting rate. */
  mint(subjects: readonly string[], concurrency?: number, claims?: (subject: string) => Record<string, unknown>): Promise<MintResult>;
  close(): Promise<void>;
}

export interface MintResult {
  tokens: string[];
  seconds: number;
  perSecond: number;
}

/** user-0000 … user-(n-1), zero-padded to four digits. */
export function benchSubjects(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `user-${String(i).padStart(4, '0')}`);
}

export async function startBenchIdp(): Promise<BenchIdp> {
  const host: IdpHost = await startIdpHost({ host: '127.0.0.1', port: 0, algorithm: 'RS256', tokenShape: 'generic' });
  const cli = host.clients['cortex-cli'];
  if (cli === undefined) throw new Error('dev idp: no cortex-cli client');
  const basic = 'Basic ' + Buffer.from(`${cli.clientId}:${cli.clientSecret}`).toString('base64');

  const one = async (sub: string, claims?: Record<string, unknown>): Promise<string> => {
    const res = await fetch(`${host.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: DEV_GRANT,
        // The dev IdP knows the numbered customers user-0000 ... as accounts of their own.
        subject: sub,
        ...(claims === undefined ? {} : { claims: JSON.stringify(claims) }),
      }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    const token = body.access_token;
    if (!res.ok || typeof token !== 'string') throw new Error(`dev idp: token for ${sub} refused (${res.status}): ${JSON.stringify(body)}`);
    return token;
  };

  return {
    issuer: host.issuer,
    audience: GATEWAY_AUDIENCE,
    async mint(subjects, concurrency = 16, claims) {
      const tokens = new Array<string>(subjects.length);
      let next = 0;
      const t0 = performance.now();
      const worker = async (): Promise<void> => {
        while (next < subjects.length) {
          const i = next++;
          tokens[i] = await one(subjects[i]!, claims?.(subjects[i]!));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, subjects.length) }, worker));
      const seconds = (performance.now() - t0) / 1000;
      return { tokens, seconds, perSecond: subjects.length / seconds };
    },
    close: () => host.close(),
  };
}

/** One token a line, for the wrk and autocannon scripts that rotate through them. */
export function writeTokens(file: string, tokens: readonly string[]): void {
  writeFileSync(file, tokens.join('\n') + '\n', { mode: 0o600 });
}

/** The subject of a JWT (unverified), for checking what was minted. */
export function jwtSubject(token: string): unknown {
  const payload = token.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>).sub;
}
