// Client certificates → service identities: the mtls authenticator. The TLS layer has already
// verified the chain (requestCert + rejectUnauthorized against gateway.mtls.clientCas); this maps a
// verified certificate to a configured service, refusing revoked serials and unmapped names.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { MtlsConfig } from '../config/schema.ts';
import type { Authenticator } from '../identity/authenticator.ts';
import { fingerprint } from '../identity/claims-identity.ts';
import { authnFailure } from '../identity/types.ts';
import type { AuthnResult } from '../identity/types.ts';
import type { Identity, RequestContext } from './types.ts';

export interface SanEntry {
  /** As Node prints it: 'DNS', 'URI', 'IP Address', 'email', 'DirName', ... */
  readonly type: string;
  readonly value: string;
}

/** Uppercase hex without colons or leading zeros: how serials are compared. */
export function normalizeSerial(hex: string): string {
  const s = hex.replace(/:/g, '').toUpperCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/**
 * Node's subjectAltName text ('DNS:a, URI:spiffe://x/y'). Node prints a value that holds a comma,
 * a quote, a backslash or a control character as a JSON string ('DNS:"a, b"'), so an unquoted value
 * never contains ', '. Undefined when the text does not follow that format (the caller refuses).
 */
export function parseSubjectAltName(text: string | undefined): SanEntry[] | undefined {
  if (text === undefined || text === '') return [];
  const out: SanEntry[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon <= i) return undefined;
    const type = text.slice(i, colon);
    if (type.includes(',') || type.includes('"')) return undefined;
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = closingQuote(text, colon + 1);
      if (end === -1) return undefined;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        return undefined;
      }
      end += 1;
    } else {
      end = text.indexOf(', ', colon + 1);
      if (end === -1) end = text.length;
      value = text.slice(colon + 1, end);
      if (value.includes('"')) return undefined;
    }
    out.push({ type, value });
    if (end === text.length) break;
    if (!text.startsWith(', ', end)) return undefined;
    i = end + 2;
    if (i === text.length) return undefined;
  }
  return out;
}

function closingQuote(text: string, open: number): number {
  for (let j = open + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j;
  }
  return -1;
}

export interface CertificateFacts {
  serial: string;
  subject: string;
  issuer: string;
  /** The subject's CN when there is exactly one. */
  commonName: string | undefined;
  san: SanEntry[] | undefined;
  notAfter: number;
}

/** What the authenticator reads from a verified peer certificate. */
export function certificateFacts(socket: TLSSocket): CertificateFacts | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.raw) return undefined;
  const x509 = new X509Certificate(peer.raw);
  // Node's parsed subject makes a repeated attribute an array: a certificate with two CNs names no one.
  const cn: unknown = peer.subject?.CN;
  return {
    serial: normalizeSerial(x509.serialNumber),
    subject: oneLine(x509.subject),
    issuer: oneLine(x509.issuer),
    commonName: typeof cn === 'string' && cn !== '' ? cn : undefined,
    san: parseSubjectAltName(x509.subjectAltName),
    notAfter: Math.floor(x509.validToDate.getTime() / 1000),
  };
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}

type MatchConfig = Pick<MtlsConfig, 'revokedSerials' | 'match' | 'services'>;

/** The certificate's name under `match`: for SANs, the first of that type that is mapped. */
export function certificateName(facts: CertificateFacts, cfg: Pick<MtlsConfig, 'match' | 'services'>): string | undefined {
  if (cfg.match === 'subject-cn') return facts.commonName;
  const type = cfg.match === 'san-dns' ? 'DNS' : 'URI';
  return facts.san?.find((e) => e.type === type && Object.hasOwn(cfg.services, e.value))?.value;
}

export function identityFor(facts: CertificateFacts, cfg: MatchConfig, revoked: ReadonlySet<string>): AuthnResult {
  if (revoked.has(facts.serial)) return authnFailure('authn.certificate_revoked', 'The client certificate has been revoked.');
  const name = certificateName(facts, cfg);
  const entry = name !== undefined && Object.hasOwn(cfg.services, name) ? cfg.services[name] : undefined;
  if (entry === undefined) return authnFailure('authn.certificate_unknown', 'The client certificate names no service known to this gateway.');
  const claims = Object.freeze({ serial: facts.serial, subject: facts.subject, san: Object.freeze((facts.san ?? []).map((e) => `${e.type}:${e.value}`)) });
  const identity: Identity = Object.freeze({
    subject: entry.service,
    issuer: facts.issuer,
    provider: 'mtls',
    kind: 'service' as const,
    method: 'mtls' as const,
    roles: Object.freeze([...new Set(entry.roles)].sort()),
    claims,
    fingerprint: fingerprint(facts.issuer, entry.service, '', 'mtls'),
    expiresAt: facts.notAfter,
  });
  return { ok: true, identity };
}

export interface MtlsAuthenticator extends Authenticator {
  readonly method: 'mtls';
  /** Marks a socket accepted by the mTLS listener. */
  accept(socket: TLSSocket): void;
}

export function createMtlsAuthenticator(cfg: MatchConfig, now: () => number = Date.now): MtlsAuthenticator {
  const revoked = new Set(cfg.revokedSerials.map(normalizeSerial));
  const accepted = new WeakSet<object>();
  // The peer certificate cannot change on a connection (renegotiation is disabled on accept), so
  // its result is derived once per connection, not per keep-alive request.
  const results = new WeakMap<object, { result: AuthnResult; notAfter: number }>();
  const expired = authnFailure('authn.certificate_unknown', 'The client certificate has expired since the connection was made.');
  return {
    method: 'mtls',
    accept(socket) {
      accepted.add(socket);
    },
    present(ctx: RequestContext): boolean {
      const socket = ctx.req.socket as TLSSocket;
      return accepted.has(socket) && socket.authorized === true;
    },
    authenticate(ctx: RequestContext): AuthnResult {
      const socket = ctx.req.socket as TLSSocket;
      let cached = results.get(socket);
      if (cached === undefined) {
        const facts = certificateFacts(socket);
        cached = facts
          ? { result: identityFor(facts, cfg, revoked), notAfter: facts.notAfter }
          : { result: authnFailure('authn.certificate_unknown', 'The connection carries no readable client certificate.'), notAfter: Infinity };
        results.set(socket, cached);
      }
      // A kept-alive connection can outlive its certificate.
      if (cached.result.ok && now() / 1000 >= cached.notAfter) return expired;
      return cached.result;
    },
  };
}
