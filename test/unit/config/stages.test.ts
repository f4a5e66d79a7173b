import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAllStages, loadConfig } from '../../../src/config/load.ts';
import type { Stage } from '../../../src/config/schema.ts';
import { errorsOf, load, summary, VALID, yaml } from './fixtures.ts';

const LEVELS = yaml`
  stages:
    dev: { log: { level: debug } }
    staging: { log: { level: warn } }
    prod: { log: { level: error } }
`;

function stageOf(text: string, stage?: Stage, env: NodeJS.ProcessEnv = {}): { stage: Stage; level: string } {
  const result = loadConfig({ text, ...(stage ? { stage } : {}), env });
  assert.ok(result.ok, JSON.stringify(result));
  return { stage: result.stage, level: result.config.log.level };
}

test('the stage is the requested one, else CORTEX_STAGE, else the stage key, else dev', () => {
  const withKey = `${VALID}stage: staging\n${LEVELS}`;
  assert.deepEqual(stageOf(withKey, 'prod', { CORTEX_STAGE: 'dev' }), { stage: 'prod', level: 'error' });
  assert.deepEqual(stageOf(withKey, undefined, { CORTEX_STAGE: 'dev' }), { stage: 'dev', level: 'debug' });
  assert.deepEqual(stageOf(withKey), { stage: 'staging', level: 'warn' });
  assert.deepEqual(stageOf(`${VALID}${LEVELS}`), { stage: 'dev', level: 'debug' });
});

test('the config records the stage it was loaded for', () => {
  assert.equal(load(`${VALID}stage: staging\n`, { stage: 'prod' }).config.stage, 'prod');
});

test('an unknown stage is an error wherever it comes from', () => {
  assert.deepEqual(summary(errorsOf(VALID, { stage: 'qa' as Stage })), [' @-: unknown stage "qa" from the requested stage; stages are dev, staging, prod']);
  assert.deepEqual(summary(errorsOf(VALID, { env: { CORTEX_STAGE: 'production' } })), [
    ' @-: unknown stage "production" from CORTEX_STAGE; stages are dev, staging, prod',
  ]);
  assert.deepEqual(summary(errorsOf(`${VALID}stage: qa\n`)), ['stage @25: unknown stage "qa"; stages are dev, staging, prod']);
  assert.deepEqual(summary(errorsOf(`${VALID}stages:\n  production: {}\n`)), [
    'stages.production @26: unknown stage "production"; stages are dev, staging, prod',
  ]);
});

test('with an unknown stage, the rest of the file is still checked', () => {
  const problems = errorsOf(`${VALID}log: { level: loud }\n`, { env: { CORTEX_STAGE: 'qa' } });
  assert.deepEqual(problems.map((p) => p.path), ['', 'log.level']);
});

test('overrides merge objects key by key, replace arrays and scalars, and delete with null', () => {
  const text = yaml`
    version: 1
    gateway:
      listen: { host: 127.0.0.1, port: 8080 }
      trustedProxies: [10.0.0.0/8, 10.1.0.0/16]
      server: cortex
    upstreams:
      orders: { url: "http://127.0.0.1:1", connections: 8 }
    routes:
      a: { match: { path: /a }, upstream: orders, auth: none }
    stages:
      prod:
        gateway:
          listen: { port: 80 }
          trustedProxies: [192.168.0.0/24]
          server: null
        upstreams:
          orders: { url: "https://orders.internal" }
  `;
  const dev = load(text).config;
  const prod = load(text, { stage: 'prod' }).config;
  assert.deepEqual(prod.gateway.listen, { host: '127.0.0.1', port: 80 });
  assert.deepEqual(prod.gateway.trustedProxies, ['192.168.0.0/24']);
  assert.equal(prod.gateway.server, undefined);
  assert.equal(prod.upstreams.orders?.url, 'https://orders.internal');
  assert.equal(prod.upstreams.orders?.connections, 8);
  assert.deepEqual(dev.gateway.trustedProxies, ['10.0.0.0/8', '10.1.0.0/16']);
  assert.equal(dev.gateway.server, 'cortex');
});

test('null can delete a whole entry, such as a route that one stage does not serve', () => {
  const text = `${VALID}stages:\n  prod:\n    routes: { orders-read: null }\n`;
  assert.deepEqual(Object.keys(load(text, { stage: 'prod' }).config.routes), ['orders-list']);
  assert.deepEqual(Object.keys(load(text).config.routes), ['orders-list', 'orders-read']);
});

test('a problem that an override introduces points at the override line', () => {
  const text = `${VALID}stages:\n  prod:\n    gateway:\n      listen: { port: 99999 }\n`;
  assert.deepEqual(summary(errorsOf(text, { stage: 'prod' })), ['gateway.listen.port @28: Too big: expected number to be <=65535']);
});

test('a stage override cannot set the stage or nest stages', () => {
  const text = `${VALID}stages:\n  prod:\n    stage: dev\n    stages: { dev: {} }\n`;
  assert.deepEqual(summary(errorsOf(text, { stage: 'dev' })), [
    'stages.prod.stage @27: a stage override cannot set the stage',
    'stages.prod.stages @28: stage overrides cannot be nested',
  ]);
});

test('checkAllStages reports a problem common to every stage once, and the others with their stage', () => {
  const text = `${VALID}log: { level: loud }\nstages:\n  staging: { admin: { token: short } }\n  prod: { admin: { token: short } }\n`;
  assert.deepEqual(checkAllStages({ text, env: {} }), [
    { path: 'log.level', line: 25, message: 'Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"' },
    { path: 'admin.token', line: 27, message: 'admin token must be at least 16 characters', stage: 'staging' },
    { path: 'admin.token', line: 28, message: 'admin token must be at least 16 characters', stage: 'prod' },
  ]);
  assert.deepEqual(checkAllStages({ text: VALID, env: {} }), []);
});
