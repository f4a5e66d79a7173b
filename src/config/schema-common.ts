// Building blocks shared by the config schema's sections (src/config/schema.ts is the entry point).
import { z } from 'zod';

export const port = z.number().int().min(0).max(65535);
export const durationMs = z.number().int().min(1).max(86_400_000);
export const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid HTTP header name (RFC 9110 token)');
export const headerValue = z
  .string()
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain CR, LF or NUL');

// A factory, so that a partly written listener (`listen: { host: ... }`) gets its own
// listener's default port rather than the data plane's.
export const listenOn = (defaultPort: number) =>
  z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('Address to bind.'),
      port: port.default(defaultPort).describe('TCP port; 0 picks a free one.'),
    })
    .describe('Where a listener binds.');
