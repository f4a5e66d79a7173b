import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorsOf, load, summary, VALID, yaml } from './fixtures.ts';

const withServer = (value: string): string => VALID.replace('  trustedProxies:', () => `  server: ${value}\n  trustedProxies:`);

test('${VAR} takes the variable, inside or around other text', () => {
  const { config } = load(withServer('"cortex/${VERSION} (${HOST})"'), { env: { VERSION: '1.2', HOST: 'edge-1' } });
  assert.equal(config.gateway.server, 'cortex/1.2 (edge-1)');
});

test('${VAR:-default} uses the default when the variable is unset or empty', () => {
  assert.equal(load(withServer('${NAME:-cortex}')).config.gateway.server, 'cortex');
  assert.equal(load(withServer('${NAME:-cortex}'), { env: { NAME: '' } }).config.gateway.server, 'cortex');
  assert.equal(load(withServer('${NAME:-cortex}'), { env: { NAME: 'edge' } }).config.gateway.server, 'edge');
  assert.equal(load(withServer('"${NAME:-}"')).config.gateway.server, '');
});

test('an unset variable without a default is an error at its path and line', () => {
  const problems = errorsOf(withServer('${SERVER_NAME}'));
  assert.deepEqual(summary(problems), [
    'gateway.server @6: environment variable SERVER_NAME is not set (use ${SERVER_NAME:-default} to give a default)',
  ]);
});

test('every missing variable is reported, and the schema does not complain about the same value again', () => {
  const text = VALID.replace('port: 8080', 'port: ${PORT}').replace('port: 9901', 'port: "${ADMIN_PORT}"');
  assert.deepEqual(
    errorsOf(text).map((p) => [p.path, p.line]),
    [['gateway.listen.port', 5], ['admin.listen.port', 8]],
  );
});

test('$${X} is a literal ${X}, and a malformed reference is an error', () => {
  assert.equal(load(withServer('"$${HOME} and ${A}"'), { env: { A: 'a' } }).config.gateway.server, '${HOME} and a');
  assert.match(errorsOf(withServer('"${1BAD}"'))[0]?.message ?? '', /malformed/);
  assert.match(errorsOf(withServer('"${UNCLOSED"'))[0]?.message ?? '', /malformed/);
});

test('a value cannot inject YAML structure', () => {
  const injected = 'x\n  admin:\n    allowRemote: true\n    listen: { host: 0.0.0.0 }';
  const { config } = load(withServer('${SERVER}'), { env: { SERVER: injected } });
  assert.equal(config.gateway.server, injected);
  assert.equal(config.admin.allowRemote, false);
  assert.equal(config.admin.listen.host, '127.0.0.1');
});

test('a whole ${VAR} becomes a number or boolean only where the schema expects one', () => {
  const text = yaml`
    version: \${VERSION}
    gateway:
      listen: { host: 127.0.0.1, port: "\${PORT}" }
      trustIncomingRequestId: \${TRUST}
      server: \${SERVER}
    admin:
      token: \${TOKEN}
  `;
  const { config } = load(text, { env: { VERSION: '1', PORT: '8081', TRUST: 'false', SERVER: '42', TOKEN: '1234567890123456' } });
  assert.equal(config.version, 1);
  assert.equal(config.gateway.listen.port, 8081);
  assert.equal(config.gateway.trustIncomingRequestId, false);
  assert.equal(config.gateway.server, '42');
  assert.equal(config.admin.token, '1234567890123456');
  const notWhole = errorsOf(text.replace('"${PORT}"', '"${PORT}0"'), { env: { VERSION: '1', PORT: '808', TRUST: 'true', SERVER: 'x', TOKEN: 'x'.repeat(16) } });
  assert.deepEqual(summary(notWhole), ['gateway.listen.port @3: Invalid input: expected number, received string']);
});

test('a variable used only by another stage is not needed', () => {
  const text = `${VALID}stages:\n  prod:\n    admin: { token: "\${ADMIN_TOKEN}" }\n`;
  assert.equal(load(text, { stage: 'dev' }).config.admin.token, undefined);
  assert.deepEqual(summary(errorsOf(text, { stage: 'prod' })), [
    'admin.token @27: environment variable ADMIN_TOKEN is not set (use ${ADMIN_TOKEN:-default} to give a default)',
  ]);
  assert.equal(load(text, { stage: 'prod', env: { ADMIN_TOKEN: 'a-long-enough-token' } }).config.admin.token, 'a-long-enough-token');
});

test('keys are never substituted', () => {
  const problems = errorsOf(`${VALID}\${KEY}: 1\n`, { env: { KEY: 'log' } });
  assert.deepEqual(summary(problems), ['["${KEY}"] @25: unknown key "${KEY}"']);
});
