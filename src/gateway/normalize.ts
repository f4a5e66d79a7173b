// The one path normalization. Routing, policy and the upstream all see its output, so nothing
// downstream can read the path differently from how it was decided on.
import { isUtf8 } from 'node:buffer';

/** Inputs that are ambiguous between servers; rejected unless the matched route opts in. */
export const AMBIGUITY = { encodedSlash: 1, semicolon: 2 } as const;

export type NormalizeResult =
  | { ok: true; path: string; query: string; ambiguity: number }
  | { ok: false; detail: string };

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;

// pchar from RFC 3986 (unreserved, sub-delims, ':' '@') plus '/'; '%' handled separately.
const PATH_CHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,=:@/;") {
  PATH_CHAR[c.charCodeAt(0)] = 1;
}
const UNRESERVED = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~') {
  UNRESERVED[c.charCodeAt(0)] = 1;
}

const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;

const fail = (detail: string): NormalizeResult => ({ ok: false, detail });

/**
 * Normalizes an origin-form request target (`/path?query`).
 * - dot segments resolved; a `..` that would climb above the root is rejected;
 * - `//` collapsed to `/`;
 * - percent-encoded unreserved characters decoded, other escapes kept with upper-case hex;
 * - rejected: raw bytes outside RFC 3986 pchar (backslash, space, controls, non-ASCII), NUL,
 *   invalid or overlong UTF-8, double encoding (`%25` + hex), encoded dot segments (`%2e`),
 *   `;` parameters on a dot segment (`..;`);
 * - flagged for the route to accept or reject: `%2F` / `%5C` (kept encoded), `;`.
 * The query string is returned untouched; no rule ever matches on it.
 */
export function normalizeTarget(target: string): NormalizeResult {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  if (path.length === 0 || path.charCodeAt(0) !== SLASH) return fail('the path must start with /');
  if (query.includes('#')) return fail('a fragment is not allowed in a request target');
  if (isPlain(path)) return { ok: true, path, query, ambiguity: 0 };
  return normalizeSlow(path, query);
}

/** The common case: only pchar, no escapes, no `;`, no `//`, no dot segments. No allocation. */
function isPlain(path: string): boolean {
  const n = path.length;
  let segStart = true;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c >= 128 || PATH_CHAR[c] !== 1 || c === SEMICOLON) return false;
    if (c === SLASH) {
      if (i > 0 && path.charCodeAt(i - 1) === SLASH) return false;
      segStart = true;
      continue;
    }
    if (segStart && c === DOT) {
      const next = i + 1 < n ? path.charCodeAt(i + 1) : SLASH;
      if (next === SLASH) return false;
      if (next === DOT && (i + 2 >= n || path.charCodeAt(i + 2) === SLASH)) return false;
    }
    segStart = false;
  }
  return true;
}

function normalizeSlow(path: string, query: string): NormalizeResult {
  const raw = path.split('/');
  const out: string[] = [];
  let ambiguity = 0;
  const last = raw.length - 1;
  for (let s = 1; s <= last; s++) {
    const seg = decodeSegment(raw[s] ?? '');
    if (typeof seg !== 'object') return fail(seg);
    ambiguity |= seg.ambiguity;
    const text = seg.text;
    if (text === '' && s !== last) continue; // collapse '//'
    if (seg.encodedDot) return fail('an encoded dot segment (%2e) is ambiguous');
    const bare = (seg.ambiguity & AMBIGUITY.semicolon) !== 0 ? text.slice(0, text.indexOf(';')) : text;
    if (bare === '.' || bare === '..') {
      if (bare !== text) return fail('a dot segment with ; parameters is ambiguous');
      if (bare === '..') {
        if (out.length === 0) return fail('the path climbs above the root');
        out.pop();
      }
      if (s === last) out.push('');
      continue;
    }
    out.push(text);
  }
  return { ok: true, path: '/' + out.join('/'), query, ambiguity };
}

type Segment = { text: string; ambiguity: number; encodedDot: boolean };

function decodeSegment(seg: string): Segment | string {
  let text = '';
  let ambiguity = 0;
  let encodedDot = false;
  let bytes: number[] | undefined;
  const n = seg.length;
  for (let i = 0; i < n; i++) {
    const c = seg.charCodeAt(i);
    if (c !== PERCENT) {
      if (bytes) {
        const flushed = flushUtf8(bytes);
        if (flushed === undefined) return 'invalid UTF-8 in a percent-encoded path';
        text += flushed;
        bytes = undefined;
      }
      if (c >= 128 || PATH_CHAR[c] !== 1) return 'the path contains a character that must be percent-encoded';
      if (c === SEMICOLON) ambiguity |= AMBIGUITY.semicolon;
      text += seg[i];
      continue;
    }
    const b = i + 2 < n ? hexByte(seg.charCodeAt(i + 1), seg.charCodeAt(i + 2)) : -1;
    if (b < 0) return 'a malformed percent-escape';
    i += 2;
    if (b >= 0x80) {
      (bytes ??= []).push(b);
      continue;
    }
    if (bytes) {
      const flushed = flushUtf8(bytes);
      if (flushed === undefined) return 'invalid UTF-8 in a percent-encoded path';
      text += flushed;
      bytes = undefined;
    }
    if (b === 0) return 'an encoded NUL in the path';
    if (b === PERCENT) {
      text += '%25';
    } else if (b === SLASH || b === 0x5c) {
      ambiguity |= AMBIGUITY.encodedSlash;
      text += b === SLASH ? '%2F' : '%5C';
    } else if (UNRESERVED[b] === 1) {
      if (b === DOT) encodedDot = true;
      text += String.fromCharCode(b);
    } else {
      text += '%' + hex2(b);
    }
  }
  if (bytes) {
    const flushed = flushUtf8(bytes);
    if (flushed === undefined) return 'invalid UTF-8 in a percent-encoded path';
    text += flushed;
  }
  // Checked on the decoded text so that encoded hex digits (%25%32%65) cannot hide a '%2e'.
  if (text.includes('%25') && DOUBLE_ENCODED.test(text)) return 'double percent-encoding in the path';
  // '%2e' only matters when the segment it sits in reads as a dot segment once decoded.
  if (encodedDot) {
    const bare = text.includes(';') ? text.slice(0, text.indexOf(';')) : text;
    encodedDot = bare === '.' || bare === '..';
  }
  return { text, ambiguity, encodedDot };
}

/** Re-encodes a run of bytes >= 0x80 with upper-case hex, or undefined if it is not valid UTF-8. */
function flushUtf8(bytes: number[]): string | undefined {
  if (!isUtf8(Uint8Array.from(bytes))) return undefined;
  let s = '';
  for (const b of bytes) s += '%' + hex2(b);
  return s;
}

function hexByte(a: number, b: number): number {
  const hi = hexVal(a);
  const lo = hexVal(b);
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}
