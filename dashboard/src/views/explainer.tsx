// The decision explainer: pick a person (or an agent acting for one) and a request, and see what
// Cortex decides and the policies behind it (POST /api/explain, the same answer as `cortex explain`).
import { useState } from 'preact/hooks';
import { errorText, sendJson } from '../api.ts';
import { resourceAttributes } from '../format.ts';
import type { Explanation } from '../types.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const DEV_PEOPLE = ['alice', 'bob', 'carol'];

function explainBody(who: string, agent: string, method: string, path: string, resource: string): Record<string, unknown> {
  const attrs = resourceAttributes(resource);
  const request = { method, path, ...(attrs === undefined ? {} : { resource: attrs }) };
  if (agent !== '') return who === '' ? { agent, ...request } : { agent, for: who, ...request };
  return { as: who, ...request };
}

function Result({ x }: { x: Explanation }) {
  return (
    <div class={`card verdict verdict-${x.decision}`}>
      <div class="verdict-head">
        <span class={`decision big decision-${x.decision}`} data-testid="explain-decision">
          {x.decision}
        </span>
        <span class="mono" data-testid="explain-reason">
          {x.reason}
        </span>
        {x.mode === 'shadow' && <span class="tag tag-warn">shadow mode</span>}
      </div>
      <dl class="facts">
        <dt>Request</dt>
        <dd class="mono">
          {x.method} {x.path}
        </dd>
        <dt>Route</dt>
        <dd class="mono">{x.route ?? 'none'}</dd>
        <dt>Intent</dt>
        <dd class="mono">{x.intent ?? 'none'}</dd>
        <dt>Stage</dt>
        <dd>{x.stage}</dd>
        {x.identity !== undefined && (
          <>
            <dt>Caller</dt>
            <dd>
              <span class="mono">{x.identity.subject}</span> ({x.identity.kind}) · roles{' '}
              {x.identity.roles.length === 0 ? 'none' : x.identity.roles.map((r) => <span key={r} class="chip role">{r}</span>)}
              {x.identity.actingFor !== undefined && (
                <span>
                  {' '}
                  · for <span class="mono">{x.identity.actingFor.subject}</span>
                </span>
              )}
            </dd>
          </>
        )}
        <dt>Policies</dt>
        <dd>
          {x.policies.length === 0 ? (
            <span class="muted">none matched</span>
          ) : (
            <ul class="chips">
              {x.policies.map((p) => (
                <li key={p} class="chip mono" data-testid="explain-policy">
                  {p}
                </li>
              ))}
            </ul>
          )}
        </dd>
        {x.heldBy !== undefined && (
          <>
            <dt>Held by</dt>
            <dd>{x.heldBy.length === 0 ? <span class="muted">no role</span> : x.heldBy.map((r) => <span key={r} class="chip role">{r}</span>)}</dd>
          </>
        )}
      </dl>
      {x.errors.length > 0 && (
        <ul class="notes errors">
          {x.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
      {x.notes.length > 0 && (
        <ul class="notes">
          {x.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Explainer() {
  const [who, setWho] = useState('bob');
  const [agent, setAgent] = useState('');
  const [method, setMethod] = useState('GET');
  const [path, setPath] = useState('/orders');
  const [resource, setResource] = useState('');
  const [result, setResult] = useState<Explanation | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setResult(await sendJson<Explanation>('POST', '/api/explain', explainBody(who.trim(), agent.trim(), method, path.trim(), resource)));
    } catch (err) {
      setResult(undefined);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Explain a decision</h1>
          <p class="muted">Pick a caller and a request: Cortex decides it against the running policies, without sending it anywhere.</p>
        </div>
      </header>
      <form class="card explain-form" onSubmit={(e) => void submit(e)}>
        <label class="field">
          <span>Person</span>
          <input type="text" data-testid="explain-who" list="dev-people" value={who} spellcheck={false} onInput={(e) => setWho(e.currentTarget.value)} />
          <datalist id="dev-people">
            {DEV_PEOPLE.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </label>
        <label class="field">
          <span>Agent (optional)</span>
          <input type="text" data-testid="explain-agent" placeholder="assistant" value={agent} spellcheck={false} onInput={(e) => setAgent(e.currentTarget.value)} />
        </label>
        <label class="field narrow">
          <span>Method</span>
          <select data-testid="explain-method" value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label class="field grow">
          <span>Path</span>
          <input type="text" class="mono" data-testid="explain-path" value={path} spellcheck={false} onInput={(e) => setPath(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>Resource attributes (optional)</span>
          <input
            type="text"
            class="mono"
            data-testid="explain-resource"
            placeholder="owner=bob"
            title="The attributes the route's attribute source would give, as name=value pairs separated by commas"
            value={resource}
            spellcheck={false}
            onInput={(e) => setResource(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="button primary" data-testid="explain-submit" disabled={busy}>
          {busy ? 'Explaining…' : 'Explain'}
        </button>
      </form>
      {error !== undefined && <div class="banner error">{error}</div>}
      {result !== undefined && <Result x={result} />}
    </section>
  );
}
