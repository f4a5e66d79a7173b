// How the dashboard writes times, durations and callers.
import type { AuditWho, RequestEvent } from './types.ts';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** 14:03:27.512, local time. */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** 2026-11-26 14:03:27, local time. */
export function dateTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function milliseconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** 45 s, 12 min, 3 h, 9 d. */
export function age(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** How long ago, from an ISO time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return 'never';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${age(Math.max(0, Math.round((now - ms) / 1000)))} ago`;
}

export function whoName(who: AuditWho): string {
  return who.username ?? who.subject;
}

/** "bob", or "assistant for bob" when an agent acts for a person. */
export function whoLabel(who: AuditWho | null): string {
  if (who === null) return 'anonymous';
  const p = who.onBehalfOf;
  if (p !== undefined) return `${who.subject} for ${p.username ?? p.subject}`;
  return whoName(who);
}

/**
 * The caller of a token exchange at /.cortex/token: the agent authenticates with its own client
 * credentials, so `who` is empty and the exchange object names the agent and the person.
 */
export function exchangeCaller(e: RequestEvent): { agent: string; label: string } | undefined {
  const x = e.exchange;
  if (e.who !== null || x?.agent === undefined) return undefined;
  return { agent: x.agent, label: x.person === undefined ? x.agent : `${x.agent} for ${x.person.subject}` };
}

/** Why a request was refused: the policy's reason, else the reason code. */
export function denialReason(e: RequestEvent): string {
  const d = e.decision;
  return d === null || d.allow || d.reason === '' ? e.outcome.code : d.reason;
}

export function decisionText(e: RequestEvent): 'allow' | 'deny' | '-' {
  if (e.decision === null) return '-';
  return e.decision.allow ? 'allow' : 'deny';
}

/** CSS class of an HTTP status: ok, redirect, client error, server error. */
export function statusClass(status: number): string {
  if (status >= 500) return 'st-5xx';
  if (status === 401 || status === 403) return 'st-refused';
  if (status >= 400) return 'st-4xx';
  if (status >= 300) return 'st-3xx';
  return 'st-2xx';
}

export function encodeUser(user: string): string {
  return encodeURIComponent(user);
}

/** "owner=bob, tags=a|b" as the resource attributes POST /api/explain takes (`|` separates a set's members). */
export function resourceAttributes(text: string): Record<string, string | string[]> | undefined {
  const out: Record<string, string | string[]> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name !== '') out[name] = value.includes('|') ? value.split('|').map((v) => v.trim()) : value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
