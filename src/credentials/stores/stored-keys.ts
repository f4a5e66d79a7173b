// Validation of key records read back from a store: a file edited by hand or a row written by
// another version fails here with the record's kid, not later inside the ring.
import { z } from 'zod';
import type { StoredKey } from '../types.ts';

const storedKey = z.object({
  kid: z.string().min(1),
  alg: z.enum(['ES256', 'EdDSA', 'RS256']),
  publicJwk: z.record(z.string(), z.unknown()),
  sealedPrivateKey: z.string().min(1),
  createdAt: z.number().int(),
  activatesAt: z.number().int(),
  retiresAt: z.number().int().optional(),
});

export function parseStoredKey(value: unknown, where: string): StoredKey {
  const r = storedKey.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`${where}: invalid signing key record: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  const { retiresAt, ...rest } = r.data;
  return retiresAt === undefined ? rest : { ...rest, retiresAt };
}

/** Oldest first (created, then kid, so the order is total). */
export function byAge(a: StoredKey, b: StoredKey): number {
  return a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);
}
