// The shapes the admin API answers, as far as the dashboard reads them (src/audit/event.ts,
// src/admin/routes-view.ts, src/admin/keys-agents.ts, src/policy/explain.ts on the server).

export interface AuditWho {
  subject: string;
  issuer: string;
  provider: string;
  kind: string;
  method: string;
  roles: string[];
  onBehalfOf?: { subject: string; kind: string; username?: string };
  username?: string;
}

export interface RequestEvent {
  type: 'request';
  id: string;
  time: string;
  stage: string;
  who: AuditWho | null;
  what: { method: string; host: string; path: string; route?: string; upstream?: string; intent?: string };
  decision: { allow: boolean; mode: string; policyIds: string[]; reason: string } | null;
  outcome: { status: number; code: string; durationMs: number; upstreamMs?: number };
  exchange?: { agent?: string; person?: { issuer: string; subject: string }; intents?: string[]; refused?: string };
}

export interface AuditPage {
  events: RequestEvent[];
  next: string | null;
}

export interface WhoAmI {
  via: 'token' | 'session' | 'login';
  who: { subject: string; username?: string | null; name?: string | null; roles?: string[] } | null;
}

export interface AuthOptions {
  token: boolean;
  login: { provider: string; url: string } | null;
}

export interface PersonAgent {
  agent: string;
  grant: { createdAt: string | null; expiresAt: string | null; createdBy?: string; expired?: boolean; intents?: string[] } | null;
  lastSeen: string | null;
  intents?: string[];
}

export interface Person {
  user: string;
  subject: string | null;
  username: string | null;
  kinds: string[];
  lastSeen: string | null;
  agents: PersonAgent[];
}

export interface Grantee {
  provider: string;
  name: string;
}

export type StageGrants =
  | { intent: string | null; policy: true; roles: string[]; groups: Grantee[]; services: Grantee[]; agents: Grantee[] }
  | { intent: string | null; policy: false }
  | { unavailable: string };

export interface IntentState {
  intent: string | null;
  tags: string[];
}

export interface RouteView {
  id: string;
  upstream: string;
  match?: { methods?: string[]; path?: string; pathPrefix?: string; host?: string };
  auth?: string[];
  intent?: string | null;
  tags?: string[];
  policyMode?: string | null;
  importedFrom?: string | null;
  grants?: Record<string, StageGrants>;
  differs?: boolean;
  pending?: { api: string; operation: string; approved: IntentState; proposed: IntentState } | null;
}

export interface SigningKey {
  kid: string;
  alg: string;
  state: string;
  createdAt: string | null;
  activatesAt: string | null;
  retiresAt: string | null;
  published: boolean;
  ageSeconds: number;
}

export interface StatsBucket {
  t: number;
  requests: number;
  denied: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface Stats {
  bucketMs: number;
  now: number;
  buckets: StatsBucket[];
}

export interface Explanation {
  decision: 'allow' | 'deny';
  reason: string;
  method: string;
  path: string;
  stage: string;
  route?: string;
  intent?: string;
  mode?: 'enforce' | 'shadow';
  identity?: { subject: string; kind: string; roles: string[]; source: string; actingFor?: { subject: string; roles: string[] } };
  policies: string[];
  heldBy?: string[];
  errors: string[];
  notes: string[];
}
