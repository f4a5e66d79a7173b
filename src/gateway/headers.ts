// One pass over the client's raw header lines: what reaches the upstream is rebuilt from them,
// never copied. Node folds duplicates in req.headers, so duplicates are caught here.
import { util } from 'undici';

// undici's lookup of well-known header names (lower-cased, without allocating for the common ones).
const { headerNameToString } = util;

/** Hop-by-hop (RFC 9110 §7.6.1) plus framing headers, which Cortex re-frames itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'expect',
  'host',
  'http2-settings',
]);

/** Set by Cortex only; from a client they are forged. Checked after `_` → `-`. */
const FORWARDING = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip', 'x-client-ip', 'true-client-ip']);
const OWNED_PREFIX = 'cortex-';

/** Rewrite or method-override headers that steer some frameworks; dropped unless the route allows. */
export const METHOD_OVERRIDE = new Set(['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-method']);
export const ORIGINAL_URL = new Set(['x-original-url', 'x-rewrite-url', 'x-original-uri']);

export interface ParsedHeaders {
  /** Headers safe to forward (lower-case names; repeated names become arrays, cookies joined). */
  forward: Record<string, string | string[]>;
  /** Method-override / original-URL headers held back until the route says whether it wants them. */
  held: [string, string][] | undefined;
  /** Incoming forwarding headers, kept for use when the peer is a trusted proxy. */
  incomingForwarded: Record<string, string> | undefined;
  host: string | undefined;
  contentLength: number | undefined;
  chunked: boolean;
}

export type HeaderError = { code: 'request.duplicate_header' | 'request.bad_framing'; detail: string };

export function parseRequestHeaders(raw: readonly string[], requestIdHeader: string): ParsedHeaders | HeaderError {
  const forward: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  let held: [string, string][] | undefined;
  let incoming: Record<string, string> | undefined;
  let host: string | undefined;
  let authorizationSeen = false;
  let contentLength: number | undefined;
  let chunked = false;
  let connectionTokens: string[] | undefined;
  let authority: string | undefined;

  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      // HTTP/2 pseudo-headers (nghttp2 allows only the request ones, once each, before the rest):
      // never forwarded; :authority stands for Host when the request has none (RFC 9113 §8.3.1).
      if (name === ':authority') authority = value;
      continue;
    }
    if (HOP_BY_HOP.has(name)) {
      if (name === 'host') {
        if (host !== undefined) return { code: 'request.duplicate_header', detail: 'more than one Host header' };
        host = value;
      } else if (name === 'content-length') {
        if (contentLength !== undefined) return { code: 'request.bad_framing', detail: 'more than one Content-Length' };
        if (!/^\d{1,15}$/.test(value)) return { code: 'request.bad_framing', detail: 'a malformed Content-Length' };
        contentLength = Number(value);
      } else if (name === 'transfer-encoding') {
        if (chunked || value.trim().toLowerCase() !== 'chunked') {
          return { code: 'request.bad_framing', detail: 'Transfer-Encoding other than a single chunked' };
        }
        chunked = true;
      } else if (name === 'connection') {
        (connectionTokens ??= []).push(...value.toLowerCase().split(',').map((t) => t.trim()));
      }
      continue;
    }
    if (name === 'authorization') {
      if (authorizationSeen) return { code: 'request.duplicate_header', detail: 'more than one Authorization header' };
      authorizationSeen = true;
    }
    const canonical = name.includes('_') ? name.replaceAll('_', '-') : name;
    if (canonical.startsWith(OWNED_PREFIX) || canonical === requestIdHeader) continue;
    if (FORWARDING.has(canonical)) {
      if (canonical === name) {
        incoming ??= Object.create(null) as Record<string, string>;
        incoming[name] = incoming[name] === undefined ? value : `${incoming[name]}, ${value}`;
      }
      continue;
    }
    if (METHOD_OVERRIDE.has(canonical) || ORIGINAL_URL.has(canonical)) {
      if (canonical === name) (held ??= []).push([name, value]);
      continue;
    }
    if (canonical !== name) continue; // an `_` alias of an ordinary header: ambiguous between servers
    addHeader(forward, name, value);
  }
  if (chunked && contentLength !== undefined) {
    return { code: 'request.bad_framing', detail: 'both Content-Length and Transfer-Encoding' };
  }
  if (connectionTokens) {
    for (const token of connectionTokens) {
      if (token === '' || token === 'keep-alive' || token === 'close') continue;
      delete forward[token];
      if (held) held = held.filter(([name]) => name !== token);
    }
    if (held?.length === 0) held = undefined;
  }
  return { forward, held, incomingForwarded: incoming, host: host ?? authority, contentLength, chunked };
}

export function addHeader(into: Record<string, string | string[]>, name: string, value: string): void {
  const prev = into[name];
  if (prev === undefined) into[name] = value;
  else if (name === 'cookie') into[name] = `${prev as string}; ${value}`;
  else if (typeof prev === 'string') into[name] = [prev, value];
  else prev.push(value);
}

const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate']);

/**
 * The upstream's response headers, from undici's raw list (name, value, ... as Buffers), minus
 * hop-by-hop ones and any the upstream's Connection names.
 */
export function responseHeadersFromRaw(raw: readonly Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  let connection: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = headerNameToString(raw[i] as Buffer);
    const value = (raw[i + 1] as Buffer).toString('latin1');
    if (RESPONSE_HOP_BY_HOP.has(name)) {
      if (name === 'connection') (connection ??= []).push(value);
      continue;
    }
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (typeof prev === 'string') out[name] = [prev, value];
    else prev.push(value);
  }
  if (connection) {
    for (const value of connection) {
      for (const token of value.toLowerCase().split(',')) delete out[token.trim()];
    }
  }
  return out;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export function isValidRequestId(id: string | undefined): id is string {
  return id !== undefined && REQUEST_ID.test(id);
}
