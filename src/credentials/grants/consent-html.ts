// The consent page's HTML: server-rendered, every value escaped, no script.
import type { AgentGrant } from '../types.ts';

export interface ConsentView {
  who: { subject: string; name: string | undefined };
  /** The person's current grants. */
  grants: readonly AgentGrant[];
  /** ?agent=<id>: the agent asked about, and whether it is a configured agent client. */
  asked: { agent: string; known: boolean } | undefined;
  now: number;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function form(action: 'grant' | 'revoke', agent: string, label: string): string {
  return `<form method="post" action="/.cortex/consent"><input type="hidden" name="action" value="${action}"><input type="hidden" name="agent" value="${escapeHtml(agent)}"><button type="submit">${escapeHtml(label)}</button></form>`;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function renderConsentPage(v: ConsentView): string {
  const granted = new Set(v.grants.map((g) => g.agent));
  const rows = v.grants
    .map(
      (g) =>
        `<tr><td><code>${escapeHtml(g.agent)}</code></td><td>${day(g.createdAt)}${g.createdBy === 'self' ? '' : ` (by ${escapeHtml(g.createdBy)})`}</td><td>${g.expiresAt === undefined ? 'until withdrawn' : day(g.expiresAt)}</td><td>${form('revoke', g.agent, 'Withdraw')}</td></tr>`,
    )
    .join('\n');
  let ask = '';
  if (v.asked !== undefined) {
    const agent = escapeHtml(v.asked.agent);
    if (!v.asked.known) ask = `<p class="note">There is no agent <code>${agent}</code> here.</p>`;
    else if (granted.has(v.asked.agent)) ask = `<p class="note"><code>${agent}</code> may already act for you.</p>`;
    else {
      ask = `<section class="ask"><h2>Allow <code>${agent}</code> to act for you?</h2><p>It will be able to exchange your sign-in for short-lived tokens and call services as you, with no more than your own permissions, until you withdraw this.</p>${form('grant', v.asked.agent, `Allow ${v.asked.agent}`)}</section>`;
    }
  }
  const list = v.grants.length === 0 ? '<p>No agent may act for you.</p>' : `<table><thead><tr><th>Agent</th><th>Allowed</th><th>Until</th><th></th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
  const who = v.who.name === undefined ? escapeHtml(v.who.subject) : `${escapeHtml(v.who.name)} (${escapeHtml(v.who.subject)})`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agents acting for you</title>
<style>body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}form{display:inline}.ask{border:1px solid #888;padding:1rem;margin:1rem 0}.note{color:#555}</style>
</head><body>
<h1>Agents acting for you</h1>
<p>Signed in as ${who}.</p>
${ask}
${list}
</body></html>
`;
}
