// A revocation as an operator asks for it (admin API body, CLI flags), checked and completed:
// `at` defaults to now (the end of the current second), a jti needs the token's exp.
import type { Revocation } from '../../credentials/types.ts';
import { revokedBeforeNow } from './revocation-mirror.ts';

export type RevocationInput = { ok: true; revocation: Revocation } | { ok: false; problem: string };

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512;
const epoch = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** From `{ kind: 'jti', jti, exp } | { kind: 'agent', agent, at? } | { kind: 'person', issuer, subject, at? } | { kind: 'grant', issuer, subject, agent, at? }`. */
export function parseRevocation(input: unknown, nowMs: number): RevocationInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, problem: 'the body must be a JSON object' };
  const o = input as Record<string, unknown>;
  if (o.at !== undefined && !epoch(o.at)) return { ok: false, problem: 'at must be epoch seconds' };
  const at = typeof o.at === 'number' ? o.at : revokedBeforeNow(nowMs);
  switch (o.kind) {
    case 'jti':
      if (!text(o.jti)) return { ok: false, problem: 'a jti revocation needs jti' };
      if (!epoch(o.exp)) return { ok: false, problem: "a jti revocation needs exp, the token's expiry in epoch seconds" };
      return { ok: true, revocation: { kind: 'jti', jti: o.jti, exp: o.exp } };
    case 'agent':
      if (!text(o.agent)) return { ok: false, problem: 'an agent revocation needs agent' };
      return { ok: true, revocation: { kind: 'agent', agent: o.agent, at } };
    case 'person':
      if (!text(o.issuer) || !text(o.subject)) return { ok: false, problem: 'a person revocation needs issuer and subject' };
      return { ok: true, revocation: { kind: 'person', issuer: o.issuer, subject: o.subject, at } };
    case 'grant':
      if (!text(o.issuer) || !text(o.subject) || !text(o.agent)) return { ok: false, problem: 'a grant revocation needs issuer, subject and agent' };
      return { ok: true, revocation: { kind: 'grant', issuer: o.issuer, subject: o.subject, agent: o.agent, at } };
    default:
      return { ok: false, problem: 'kind must be jti, agent, person or grant' };
  }
}

/** One line for logs and the CLI. */
export function describeRevocation(r: Revocation): string {
  switch (r.kind) {
    case 'jti':
      return `token ${r.jti}`;
    case 'agent':
      return `every delegated token of agent ${r.agent} issued before ${new Date(r.at * 1000).toISOString()}`;
    case 'person':
      return `every delegated token acting for ${r.subject} (${r.issuer}) issued before ${new Date(r.at * 1000).toISOString()}`;
    case 'grant':
      return `every delegated token of agent ${r.agent} acting for ${r.subject} (${r.issuer}) issued before ${new Date(r.at * 1000).toISOString()}`;
  }
}
