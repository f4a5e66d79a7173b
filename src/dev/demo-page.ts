// The page a person sees at `cortex dev`'s gateway root: who the gateway says they are
// (/.cortex/me) and the orders (/orders), both fetched from the page's own origin with the
// session cookie. Everything the page shows goes in through textContent, never as markup.
import { createHash } from 'node:crypto';

const SCRIPT = `
const $ = (id) => document.getElementById(id);
function fail(text) { $('error').textContent = text; $('error').hidden = false; }
async function getJson(path, init) {
  const res = await fetch(path, { credentials: 'same-origin', ...init, headers: { accept: 'application/json', ...init?.headers } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(path + ' answered ' + res.status + (body.title ? ': ' + body.title : ''));
  return body;
}
async function showMe() {
  const me = await getJson('/.cortex/me');
  const roles = Array.isArray(me.roles) && me.roles.length > 0 ? ' (roles: ' + me.roles.join(', ') + ')' : '';
  $('who').textContent = 'Signed in as ' + me.subject + roles;
}
async function showOrders() {
  const { orders } = await getJson('/orders');
  const rows = orders.map((o) => {
    const tr = document.createElement('tr');
    for (const value of [o.id, o.item, o.quantity, o.status, o.owner]) {
      const td = document.createElement('td');
      td.textContent = String(value);
      tr.append(td);
    }
    return tr;
  });
  $('orders').replaceChildren(...rows);
  $('empty').hidden = rows.length > 0;
}
$('new-order').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const order = { item: String(form.get('item')), quantity: Number(form.get('quantity')) };
  getJson('/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) })
    .then(() => { event.target.reset(); return showOrders(); })
    .catch((err) => fail(err.message));
});
showMe().catch((err) => fail(err.message));
showOrders().catch((err) => fail(err.message));
`;

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}' +
  'table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}' +
  'header{display:flex;justify-content:space-between;align-items:center}#error{color:#b00}';

export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your orders</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Your orders</h1>
<form method="post" action="/.cortex/logout"><button type="submit">Log out</button></form>
</header>
<p id="who">Asking the gateway who you are…</p>
<p id="error" role="alert" hidden></p>
<table>
<thead><tr><th>Order</th><th>Item</th><th>Quantity</th><th>Status</th><th>Owner</th></tr></thead>
<tbody id="orders"></tbody>
</table>
<p id="empty" hidden>No orders yet.</p>
<form id="new-order">
<label>Item <input name="item" required maxlength="200"></label>
<label>Quantity <input name="quantity" type="number" min="1" max="1000" value="1" required></label>
<button type="submit">Order</button>
</form>
<p><small>Served by the demo orders API behind Cortex; the gateway logged you in and tells it who you are.</small></p>
<script>${SCRIPT}</script>
</body>
</html>
`;

const scriptHash = createHash('sha256').update(SCRIPT).digest('base64');

/**
 * Only this page's own script runs and it may only talk to its origin. No form-action: the logout
 * form's answer redirects to the identity provider, and Chromium applies form-action to redirects.
 */
export const DEMO_PAGE_CSP = `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'`;
