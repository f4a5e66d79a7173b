// The admin API's credential check: one static bearer token, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenCheck = 'ok' | 'missing' | 'invalid' | 'not_configured';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Returns a checker for Authorization header values. Both sides are hashed first so that
 * timingSafeEqual always compares 32 bytes: neither the token's length nor its prefix leaks.
 */
export function createTokenCheck(token: string | undefined): (authorization: string | undefined) => TokenCheck {
  const expected = token === undefined || token === '' ? undefined : sha256(token);
  return (authorization) => {
    if (expected === undefined) return 'not_configured';
    if (authorization === undefined) return 'missing';
    const presented = BEARER.exec(authorization)?.[1];
    if (presented === undefined) return 'missing';
    return timingSafeEqual(sha256(presented), expected) ? 'ok' : 'invalid';
  };
}
