// What a person sees at the dev IdP: a sign-in page with one button per demo person (no password:
// it is the dev IdP), consent granted without asking (every dev client is first party), and plain
// logout pages. Served on the IdP's own node:http server under <issuer path>/interaction/<uid>.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { PEOPLE } from './catalog.ts';

const MAX_FORM_BYTES = 4096;
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login|\/abort)?$/;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem;text-align:left;cursor:pointer}' +
  '.note{color:#666;font-size:.9rem}';

export function page(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}${script}
</body>
</html>
`;
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

function loginPage(prefix: string, uid: string, clientId: string): string {
  const action = `${prefix}/interaction/${encodeURIComponent(uid)}`;
  const buttons = Object.values(PEOPLE)
    .map((p) => `<button type="submit" name="account" value="${escapeHtml(p.sub)}"><strong>${escapeHtml(p.name)}</strong> (${escapeHtml(p.sub)}) · ${escapeHtml(p.groups.join(', '))}</button>`)
    .join('\n');
  return page(
    'Sign in to the Cortex dev identity provider',
    `<p><strong>${escapeHtml(clientId)}</strong> asks who you are. Choose a demo person:</p>
<form method="post" action="${escapeHtml(action)}/login">
${buttons}
</form>
<form method="post" action="${escapeHtml(action)}/abort"><button type="submit">Cancel</button></form>
<p class="note">This is the development identity provider of <code>cortex dev</code>: there are no passwords, anyone who can reach it can sign in as anyone. Never use it for anything real.</p>`,
  );
}

function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_FORM_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_FORM_BYTES ? undefined : new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', () => resolve(undefined));
  });
}

function problem(res: ServerResponse, status: number, message: string): void {
  send(res, status, page('Sign-in problem', `<p>${escapeHtml(message)}</p><p class="note">Go back to the application and start again.</p>`));
}

/** Grants what the client asked for: the dev clients are all first party, so nobody is asked. */
async function grantConsent(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const interaction = await provider.interactionDetails(req, res);
  const { prompt, params, session } = interaction;
  if (session === undefined) return problem(res, 400, 'There is no signed-in person to grant access for.');
  const existing = interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId);
  const grant = existing ?? new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
  const details = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

/**
 * Answers `<prefix>/interaction/...` (path is the part after the issuer's path); false when the path is
 * not an interaction path. `prefix` is the issuer's path ('' or '/tenant').
 */
export function handleInteraction(provider: Provider, prefix: string, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const match = INTERACTION.exec(path);
  if (match === null) return false;
  const uid = match[1] ?? '';
  const action = match[2];
  run(provider, prefix, uid, action, req, res).catch((err: unknown) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const expired = err instanceof Error && err.name === 'SessionNotFound';
    problem(res, 400, expired ? 'This sign-in has expired or was already finished.' : 'The sign-in could not continue.');
  });
  return true;
}

async function run(provider: Provider, prefix: string, uid: string, action: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  if ((action === undefined && method !== 'GET') || (action !== undefined && method !== 'POST')) {
    res.setHeader('allow', action === undefined ? 'GET' : 'POST');
    return problem(res, 405, `${method} is not allowed here.`);
  }
  const interaction = await provider.interactionDetails(req, res);
  if (interaction.uid !== uid) return problem(res, 400, 'This sign-in belongs to another browser tab or has expired.');
  const clientId = typeof interaction.params.client_id === 'string' ? interaction.params.client_id : '';
  if (action === '/abort') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled sign-in.' }, { mergeWithLastSubmission: false });
    return;
  }
  if (interaction.prompt.name === 'consent') return grantConsent(provider, req, res);
  if (interaction.prompt.name !== 'login') return problem(res, 400, `Unsupported step '${interaction.prompt.name}'.`);
  if (action === undefined) return send(res, 200, loginPage(prefix, uid, clientId));
  const form = await readForm(req);
  const account = form?.get('account') ?? '';
  if (!Object.hasOwn(PEOPLE, account)) return problem(res, 400, `Unknown person '${account}'.`);
  await provider.interactionFinished(req, res, { login: { accountId: account } }, { mergeWithLastSubmission: false });
}

/** oidc-provider's logout confirmation, plain; confirmed without a click for the first-party web client. */
export function logoutSource(autoConfirmClients: readonly string[]) {
  return (ctx: KoaContextWithOIDC, form: string): void => {
    const auto = autoConfirmClients.includes(ctx.oidc.client?.clientId ?? '');
    ctx.type = 'html';
    ctx.body = page(
      'Sign out of the Cortex dev identity provider?',
      `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" id="confirm">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
      auto ? "<script>document.getElementById('confirm').click()</script>" : '',
    );
  };
}

export function postLogoutSuccessSource(ctx: KoaContextWithOIDC): void {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<p>You are signed out of the Cortex dev identity provider.</p>');
}

export function renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): void {
  ctx.type = 'html';
  ctx.body = page('Sign-in problem', `<p><code>${escapeHtml(out.error)}</code>: ${escapeHtml(out.error_description ?? '')}</p>`);
}
