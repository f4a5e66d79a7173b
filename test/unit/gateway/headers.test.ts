import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidRequestId, parseRequestHeaders, responseHeadersFromRaw } from '../../../src/gateway/headers.ts';

/** The upstream's response headers as undici hands them over: name, value, ... as Buffers. */
function responseHeaders(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const raw: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of typeof value === 'string' ? [value] : value) raw.push(Buffer.from(name, 'latin1'), Buffer.from(v, 'latin1'));
  }
  return responseHeadersFromRaw(raw);
}
import type { HeaderError, ParsedHeaders } from '../../../src/gateway/headers.ts';

const ID_HEADER = 'x-request-id';

/** Raw header lines as Node gives them: name, value, name, value, ... */
function raw(...pairs: [string, string][]): string[] {
  return pairs.flat();
}

function parse(pairs: [string, string][], idHeader = ID_HEADER): ParsedHeaders {
  const got = parseRequestHeaders(raw(...pairs), idHeader);
  assert.ok(!('code' in got), `expected the headers to parse, got ${JSON.stringify(got)} for ${JSON.stringify(pairs)}`);
  return got;
}

function parseError(pairs: [string, string][]): HeaderError {
  const got = parseRequestHeaders(raw(...pairs), ID_HEADER);
  assert.ok('code' in got, `expected an error for ${JSON.stringify(pairs)}, got ${JSON.stringify(got)}`);
  return got;
}

/** A plain copy, so deepEqual does not trip over the null prototype. */
function plain<T>(record: Record<string, T> | undefined): Record<string, T> | undefined {
  return record === undefined ? undefined : { ...record };
}

void test('ordinary headers are forwarded under lower-case names', () => {
  const got = parse([['Accept', 'application/json'], ['User-Agent', 'curl/8'], ['Authorization', 'Bearer t'], ['X-Api-Key', 'k']]);
  assert.deepEqual(plain(got.forward), { accept: 'application/json', 'user-agent': 'curl/8', authorization: 'Bearer t', 'x-api-key': 'k' });
  assert.equal(got.held, undefined);
  assert.equal(got.incomingForwarded, undefined);
  assert.equal(got.contentLength, undefined);
  assert.equal(got.chunked, false);
});

void test('hop-by-hop and framing headers are never forwarded', () => {
  const got = parse([
    ['Host', 'api.example.com'],
    ['Connection', 'keep-alive'],
    ['Keep-Alive', 'timeout=5'],
    ['Proxy-Connection', 'keep-alive'],
    ['Proxy-Authenticate', 'Basic'],
    ['Proxy-Authorization', 'Basic c2VjcmV0'],
    ['TE', 'trailers'],
    ['Trailer', 'X-Checksum'],
    ['Upgrade', 'websocket'],
    ['Expect', '100-continue'],
    ['HTTP2-Settings', 'AAMAAABkAAQAAP__'],
    ['Content-Length', '5'],
    ['Accept', '*/*'],
  ]);
  assert.deepEqual(plain(got.forward), { accept: '*/*' });
  assert.equal(got.host, 'api.example.com');
  assert.equal(got.contentLength, 5);
});

void test('headers named by Connection are removed', () => {
  const got = parse([
    ['Connection', 'close, X-Secret'],
    ['connection', ' x-other ,, Keep-Alive'],
    ['X-Secret', 's'],
    ['X-Other', 'o'],
    ['Authorization', 'Bearer t'],
    ['X-Kept', 'k'],
  ]);
  assert.deepEqual(plain(got.forward), { authorization: 'Bearer t', 'x-kept': 'k' });

  const named = parse([['Connection', 'Authorization'], ['Authorization', 'Bearer t']]);
  assert.equal(named.forward.authorization, undefined, 'Connection may name any end-to-end header, which then stops at this hop');
});

// RFC 9110 §7.6.1: a proxy removes every field the Connection header names before forwarding.
// A held method-override / original-URL header is forwarded later when the route allows it, so
// a Connection token naming it must drop it here too.
void test('a held header named by Connection is removed as well', () => {
  const got = parse([
    ['Connection', 'X-HTTP-Method-Override, X-Original-URL'],
    ['X-HTTP-Method-Override', 'DELETE'],
    ['X-Original-URL', '/admin'],
  ]);
  assert.deepEqual(got.held ?? [], []);
});

void test('headers owned by Cortex, and their _ and case aliases, are dropped', () => {
  const got = parse([
    ['Cortex-Identity', 'forged'],
    ['cortex-assertion', 'forged'],
    ['CORTEX-ROLES', 'admin'],
    ['Cortex_Identity', 'forged'],
    ['cortex_assertion', 'forged'],
    ['X-Request-Id', 'client-id'],
    ['x_request_id', 'client-id'],
    ['X-Kept', 'k'],
  ]);
  assert.deepEqual(plain(got.forward), { 'x-kept': 'k' });
});

void test('the configured request id header is the one dropped', () => {
  const got = parse([['X-Correlation-Id', 'c'], ['X_Correlation_Id', 'c'], ['X-Request-Id', 'r']], 'x-correlation-id');
  assert.deepEqual(plain(got.forward), { 'x-request-id': 'r' });
});

void test('forwarding headers go to incomingForwarded, never to forward', () => {
  const got = parse([
    ['Forwarded', 'for=192.0.2.1'],
    ['X-Forwarded-For', '192.0.2.1'],
    ['x-forwarded-for', '198.51.100.2'],
    ['X-Forwarded-Proto', 'https'],
    ['X-Forwarded-Host', 'evil.example'],
    ['X-Forwarded-Port', '443'],
    ['X-Forwarded-Prefix', '/admin'],
    ['X-Real-IP', '192.0.2.9'],
    ['X-Client-IP', '192.0.2.10'],
    ['True-Client-IP', '192.0.2.11'],
    ['Accept', '*/*'],
  ]);
  assert.deepEqual(plain(got.forward), { accept: '*/*' });
  assert.deepEqual(plain(got.incomingForwarded), {
    forwarded: 'for=192.0.2.1',
    'x-forwarded-for': '192.0.2.1, 198.51.100.2',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-port': '443',
    'x-forwarded-prefix': '/admin',
    'x-real-ip': '192.0.2.9',
    'x-client-ip': '192.0.2.10',
    'true-client-ip': '192.0.2.11',
  });
});

void test('_ aliases of forwarding headers are dropped entirely', () => {
  const got = parse([['X_Forwarded_For', '10.0.0.1'], ['x_real_ip', '10.0.0.2'], ['X-Forwarded_Host', 'evil.example'], ['True_Client_IP', '10.0.0.3']]);
  assert.deepEqual(plain(got.forward), {});
  assert.equal(got.incomingForwarded, undefined);
});

void test('method-override and original-URL headers are held back, their _ aliases dropped', () => {
  const got = parse([
    ['X-HTTP-Method-Override', 'DELETE'],
    ['X-HTTP-Method', 'PUT'],
    ['X-Method-Override', 'PATCH'],
    ['X-Original-Method', 'POST'],
    ['X-Original-URL', '/admin'],
    ['X-Rewrite-URL', '/admin'],
    ['X-Original-URI', '/admin'],
    ['X_HTTP_Method_Override', 'DELETE'],
    ['x_original_url', '/admin'],
  ]);
  assert.deepEqual(plain(got.forward), {});
  assert.deepEqual(got.held, [
    ['x-http-method-override', 'DELETE'],
    ['x-http-method', 'PUT'],
    ['x-method-override', 'PATCH'],
    ['x-original-method', 'POST'],
    ['x-original-url', '/admin'],
    ['x-rewrite-url', '/admin'],
    ['x-original-uri', '/admin'],
  ]);
});

void test('an _ alias of an ordinary header is dropped', () => {
  const got = parse([['X_Api_Key', 'k1'], ['X-Api-Key', 'k2'], ['user_agent', 'ua']]);
  assert.deepEqual(plain(got.forward), { 'x-api-key': 'k2' });
});

void test('a duplicate Host or Authorization header is an error', () => {
  const cases: [string, [string, string][]][] = [
    ['Host twice', [['Host', 'a.example'], ['Host', 'a.example']]],
    ['Host in two cases', [['Host', 'a.example'], ['host', 'b.example']]],
    ['Authorization twice', [['Authorization', 'Bearer a'], ['Authorization', 'Bearer a']]],
    ['Authorization in two cases', [['authorization', 'Bearer a'], ['AUTHORIZATION', 'Basic b']]],
  ];
  for (const [name, pairs] of cases) {
    assert.equal(parseError(pairs).code, 'request.duplicate_header', name);
  }
});

void test('Content-Length: one well-formed value or a framing error', () => {
  assert.equal(parse([['Content-Length', '0']]).contentLength, 0);
  assert.equal(parse([['Content-Length', '42']]).contentLength, 42);
  assert.equal(parse([['Content-Length', '999999999999999']]).contentLength, 999999999999999);
  const bad: [string, [string, string][]][] = [
    ['duplicate, same value', [['Content-Length', '5'], ['Content-Length', '5']]],
    ['duplicate, different values', [['Content-Length', '5'], ['content-length', '6']]],
    ['empty', [['Content-Length', '']]],
    ['negative', [['Content-Length', '-1']]],
    ['signed', [['Content-Length', '+1']]],
    ['decimal', [['Content-Length', '1.0']]],
    ['exponent', [['Content-Length', '1e3']]],
    ['hex', [['Content-Length', '0x10']]],
    ['list', [['Content-Length', '5, 5']]],
    ['padded', [['Content-Length', ' 5']]],
    ['16 digits', [['Content-Length', '1234567890123456']]],
    ['with Transfer-Encoding', [['Content-Length', '5'], ['Transfer-Encoding', 'chunked']]],
    ['with Transfer-Encoding first', [['Transfer-Encoding', 'chunked'], ['Content-Length', '5']]],
  ];
  for (const [name, pairs] of bad) {
    assert.equal(parseError(pairs).code, 'request.bad_framing', name);
  }
});

void test('Transfer-Encoding other than a single chunked is a framing error', () => {
  assert.equal(parse([['Transfer-Encoding', 'chunked']]).chunked, true);
  assert.equal(parse([['Transfer-Encoding', ' Chunked ']]).chunked, true);
  for (const value of ['gzip', 'identity', 'gzip, chunked', 'chunked, gzip', 'chunked, chunked', '', 'xchunked']) {
    assert.equal(parseError([['Transfer-Encoding', value]]).code, 'request.bad_framing', JSON.stringify(value));
  }
  assert.equal(parseError([['Transfer-Encoding', 'chunked'], ['transfer-encoding', 'chunked']]).code, 'request.bad_framing', 'twice');
});

void test('repeated ordinary headers become arrays, cookies are joined with "; "', () => {
  const got = parse([
    ['Accept', 'text/html'],
    ['X-Tag', 'a'],
    ['x-tag', 'b'],
    ['X-TAG', 'c'],
    ['Cookie', 'a=1'],
    ['cookie', 'b=2; c=3'],
    ['Cookie', 'd=4'],
  ]);
  assert.deepEqual(plain(got.forward), { accept: 'text/html', 'x-tag': ['a', 'b', 'c'], cookie: 'a=1; b=2; c=3; d=4' });
});

void test('header names that are Object.prototype keys are ordinary headers', () => {
  const got = parse([['Constructor', 'a'], ['constructor', 'b'], ['toString', 'c'], ['hasOwnProperty', 'd']]);
  assert.deepEqual(plain(got.forward), { constructor: ['a', 'b'], tostring: 'c', hasownproperty: 'd' });
  assert.equal(Object.getPrototypeOf(got.forward), null);
});

void test('responseHeaders strips hop-by-hop headers and keeps the rest', () => {
  const got = responseHeaders({
    'content-type': 'application/json',
    'content-length': '12',
    'set-cookie': ['a=1', 'b=2'],
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'keep-alive',
    'transfer-encoding': 'chunked',
    te: 'trailers',
    trailer: 'x-checksum',
    upgrade: 'h2c',
    'proxy-authenticate': 'Basic',
  });
  assert.deepEqual(plain(got), { 'content-type': 'application/json', 'content-length': '12', 'set-cookie': ['a=1', 'b=2'] });
});

void test('responseHeaders strips the headers the upstream Connection names', () => {
  const got = responseHeaders({ connection: 'close, X-Internal , x-debug', 'x-internal': 'secret', 'x-debug': '1', 'x-kept': 'k' });
  assert.deepEqual(plain(got), { 'x-kept': 'k' });
  const upper = responseHeaders({ connection: 'Keep-Alive', 'x-kept': 'k' });
  assert.deepEqual(plain(upper), { 'x-kept': 'k' });
});

// undici's parseHeaders turns a repeated response header into an array, Connection included.
void test('responseHeaders strips the headers named by a repeated Connection header', () => {
  const got = responseHeaders({ connection: ['close', 'x-internal'], 'x-internal': 'secret', 'x-kept': 'k' });
  assert.deepEqual(plain(got), { 'x-kept': 'k' });
});

void test('isValidRequestId accepts 1 to 128 safe characters and nothing else', () => {
  for (const id of ['a', 'req-1', 'a.b_c:d-e', '0f8fad5b-d9cb-469f-a165-70867728950e', 'x'.repeat(128)]) {
    assert.equal(isValidRequestId(id), true, JSON.stringify(id));
  }
  for (const id of [undefined, '', 'x'.repeat(129), 'a b', 'a\r\nx-evil: 1', 'a\nb', 'a/b', 'a,b', 'caf\u00e9', '<script>', 'a;b', 'a"b']) {
    assert.equal(isValidRequestId(id), false, JSON.stringify(id));
  }
});
