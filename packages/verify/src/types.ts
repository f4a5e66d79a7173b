// The shapes the kit shares with its callers: what an assertion says, who the caller is, and
// why an assertion was refused.

export type Algorithm = 'ES256' | 'EdDSA' | 'RS256';
export type CallerKind = 'user' | 'service' | 'agent' | 'anonymous';

/** The claims Cortex puts in an assertion (the identity, never the request). */
export interface AssertionClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly kind: CallerKind;
  readonly provider: string;
  /** The caller's roles; for an agent acting for a person, the person's (the agent's are in act). */
  readonly roles: readonly string[];
  /** RFC 8693 act: sub is the person the agent acts for, act names the agent. */
  readonly act?: { readonly sub: string; readonly roles: readonly string[] };
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/** The verified caller. For an agent acting for a person, subject and roles are the person's. */
export interface Caller {
  readonly subject: string;
  readonly kind: CallerKind;
  readonly roles: readonly string[];
  readonly provider: string;
  /** The agent acting for `subject`, when there is one. */
  readonly actor?: { readonly subject: string; readonly roles: readonly string[] };
  readonly claims: AssertionClaims;
}

export type FailureCode =
  | 'assertion.missing'
  | 'assertion.duplicate'
  | 'assertion.malformed'
  | 'assertion.invalid'
  | 'assertion.expired'
  | 'assertion.not_yet_valid'
  | 'assertion.lifetime_too_long'
  | 'assertion.wrong_issuer'
  | 'assertion.wrong_audience'
  | 'assertion.unknown_key'
  | 'assertion.jwks_unavailable';

export type VerifyResult =
  | { readonly ok: true; readonly caller: Caller }
  | { readonly ok: false; readonly code: FailureCode; readonly message: string };

/** Fetch-style headers (Hono, Web Request) or Node's `IncomingHttpHeaders`. */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface JwksFetchOptions {
  /** Abort a JWKS fetch after this long (default 5000 ms). */
  readonly timeoutMs?: number;
  /** An unknown `kid` refetches the JWKS at most once per this period (default 30000 ms). */
  readonly cooldownMs?: number;
  /** Refetch the JWKS after this long even when every kid is known (default 600000 ms). */
  readonly cacheMaxAgeMs?: number;
  /** Extra request headers for the JWKS fetch. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface VerifierOptions {
  /** The gateway's base URL, exactly as it appears in `iss` (e.g. http://127.0.0.1:8080). */
  readonly issuer: string;
  /** This service's id, exactly as it appears in `aud`. */
  readonly audience: string;
  /** Default: issuer + '/.cortex/jwks.json'. */
  readonly jwksUri?: string;
  /** Default: ['ES256', 'EdDSA', 'RS256']. */
  readonly algorithms?: readonly Algorithm[];
  /** Clock skew allowed on exp and iat (default 5 s). */
  readonly clockToleranceSeconds?: number;
  /** The longest exp - iat accepted, and the oldest iat (default 300 s; Cortex issues 60 s). */
  readonly maxLifetimeSeconds?: number;
  /** The request header carrying the assertion (default 'cortex-assertion'). */
  readonly header?: string;
  readonly fetch?: JwksFetchOptions;
}

export interface Verifier {
  /** Verifies one compact JWS. Never throws: a refusal is a result. */
  verify(token: string | undefined): Promise<VerifyResult>;
  /** Reads the assertion header (refusing it when repeated) and verifies it. */
  fromHeaders(headers: HeaderSource): Promise<VerifyResult>;
}
