// `cortex dev token`: print an access token from the running `cortex dev` identity provider, for
// a person (--as) or a service (--service); for an agent acting for a person (--agent --for), the
// person's token (issued to the CLI, not the agent, so consent must be a recorded grant) exchanged
// at the gateway's /.cortex/token (RFC 8693) with the agent's secret: a delegated token from Cortex.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEV_GRANT, audienceResource } from '../dev/idp/catalog.ts';
import { readClientSecrets, readIdpState, type DevIdpState } from '../dev/idp/keys.ts';
import { Agent, fetch as undiciFetch } from 'undici';
import { DEV_ASSISTANT_SECRET } from '../dev/config.ts';
import { localTlsFiles } from '../dev/tls.ts';
import { devDir, readDevState } from '../dev/state.ts';

const USAGE = 'usage: cortex dev token (--as PERSON | --service CLIENT | --agent CLIENT --for PERSON) [--audience AUD]';

function fail(message: string): number {
  console.error(`cortex dev token: ${message}`);
  return 1;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function requestToken(state: DevIdpState, clientId: string, secret: string, params: Record<string, string>): Promise<string> {
  let res: Response;
  try {
    res = await fetch(state.tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(params),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new Error(`the dev identity provider at ${state.issuer} does not answer; is \`cortex dev\` running?`);
  }
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: string; error_description?: string };
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new Error(body.error_description ?? body.error ?? `token request failed (HTTP ${res.status})`);
  }
  return body.access_token;
}

const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The agent's secret at the gateway's token endpoint (only the demo's assistant is configured). */
function agentSecret(agent: string): string | undefined {
  if (agent !== 'assistant') return undefined;
  const fromEnv = process.env.CORTEX_DEV_ASSISTANT_SECRET;
  return fromEnv === undefined || fromEnv === '' ? DEV_ASSISTANT_SECRET : fromEnv;
}

/** RFC 8693 exchange at the running gateway; the endpoint's own error text when it refuses. */
async function exchangeAtGateway(gatewayUrl: string, agent: string, secret: string, subjectToken: string): Promise<string> {
  // `cortex dev --tls` serves a certificate from its local CA, which Node does not trust by itself.
  const caFile = localTlsFiles(join(devDir(), 'tls')).ca;
  const dispatcher = gatewayUrl.startsWith('https:') && existsSync(caFile) ? new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } }) : undefined;
  let res;
  try {
    res = await undiciFetch(`${gatewayUrl}/.cortex/token`, {
      ...(dispatcher === undefined ? {} : { dispatcher }),
      method: 'POST',
      headers: {
        authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(agent)}:${encodeURIComponent(secret)}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    await dispatcher?.close();
    throw new Error(`the gateway at ${gatewayUrl} does not answer; is \`cortex dev\` running?`);
  }
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: string; error_description?: string };
  await dispatcher?.close();
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new Error(`the gateway refused the exchange: ${body.error ?? `HTTP ${res.status}`}${body.error_description === undefined ? '' : ` (${body.error_description})`}`);
  }
  return body.access_token;
}

export async function runDevToken(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        as: { type: 'string' },
        service: { type: 'string' },
        agent: { type: 'string' },
        for: { type: 'string' },
        audience: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const modes = [values.as, values.service, values.agent].filter((v) => v !== undefined).length;
  if (modes !== 1) return fail(`give exactly one of --as, --service, --agent\n${USAGE}`);
  if (values.agent !== undefined && values.for === undefined) return fail('--agent needs --for PERSON');
  if (values.agent === undefined && values.for !== undefined) return fail('--for goes with --agent');

  const dir = join(devDir(), 'idp');
  const state = readIdpState(dir);
  if (state === undefined || !alive(state.pid)) return fail('cortex dev is not running here (no dev identity provider state under .cortex/dev/idp); start it with `cortex dev`');
  const secrets = readClientSecrets(dir) ?? {};
  try {
    let token: string;
    if (values.service !== undefined) {
      const secret = secrets[values.service];
      if (secret === undefined) return fail(`unknown service '${values.service}'`);
      token = await requestToken(state, values.service, secret, { grant_type: 'client_credentials', resource: audienceResource(values.audience) });
    } else {
      const secret = secrets['cortex-cli'];
      if (secret === undefined) return fail('no cortex-cli secret under .cortex/dev/idp; restart `cortex dev`');
      const params: Record<string, string> = { grant_type: DEV_GRANT, subject: values.as ?? values.for ?? '' };
      if (values.audience !== undefined) params.audience = values.audience;
      token = await requestToken(state, 'cortex-cli', secret, params);
      if (values.agent !== undefined) {
        const agentSecretValue = agentSecret(values.agent);
        if (agentSecretValue === undefined) return fail(`unknown agent '${values.agent}' (the demo's agent is assistant)`);
        const gatewayUrl = readDevState()?.gatewayUrl;
        if (gatewayUrl === undefined) return fail('cortex dev is not running here (no .cortex/dev state); start it with `cortex dev`');
        token = await exchangeAtGateway(gatewayUrl, values.agent, agentSecretValue, token);
      }
    }
    console.log(token);
    return 0;
  } catch (err) {
    return fail((err as Error).message);
  }
}
