// `cortex <command>`: dispatch only; each command lives in its own module.
const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  dev: {
    summary: 'run the gateway, an identity provider, the demo orders API and the admin listener on this machine; `dev token --as PERSON | --service NAME | --agent NAME --for PERSON` prints a token',
    run: async (a) => (a[0] === 'token' ? (await import('./dev-token.ts')).runDevToken(a.slice(1)) : (await import('./dev.ts')).runDev(a)),
  },
  serve: { summary: 'run the gateway from a config file (--config FILE [--stage S])', run: async (a) => (await import('./serve.ts')).runServe(a) },
  'api-keys': {
    summary: 'create, list or revoke API keys: create --service NAME|--user NAME --role R [--expires 30d]; list; revoke KEYID (--config FILE [--stage S]; the cortex dev config without --config)',
    run: async (a) => (await import('./api-keys.ts')).runApiKeys(a),
  },
  agents: {
    summary: "people's grants to agents (consent): grant --user SUBJECT --agent NAME [--provider P | --issuer URL] [--expires 30d]; list [--user S] [--agent A]; revoke --user S --agent A (--config FILE [--stage S])",
    run: async (a) => (await import('./agents.ts')).runAgents(a),
  },
  tokens: {
    summary: 'revoke delegated tokens at once: revoke --jti ID --exp EPOCH | --agent NAME | --user SUBJECT [--provider P] [--admin URL] (--config FILE [--stage S])',
    run: async (a) => (await import('./tokens.ts')).runTokens(a),
  },
  'signing-keys': {
    summary: 'the signing key ring: list | rotate (--config FILE [--stage S])',
    run: async (a) => (await import('./signing-keys.ts')).runSigningKeys(a),
  },
  explain: {
    summary: 'the policy decision for one caller and request: (--as NAME | --agent NAME [--for NAME] | --claims FILE | --token JWT) METHOD PATH [--resource NAME=VALUE | --lookup] [--config FILE] [--stage S] [--json]',
    run: async (a) => (await import('./explain.ts')).runExplain(a),
  },
  audit: {
    summary: 'who accessed what, when: filter the audit trail (--user U --since 1h --denied --intent I ...); `audit verify` checks every chain against its signed checkpoints',
    run: async (a) => (await import('./audit.ts')).runAudit(a),
  },
  intents: {
    summary: "intents of imported OpenAPI operations: list | pending (exit 1 when a change waits) | approve [--api NAME] [--operation 'DELETE /orders/{id}'] [--config FILE] [--stage S]",
    run: async (a) => (await import('./intents.ts')).runIntents(a),
  },
  test: {
    summary: 'run a YAML file of policy cases (who, stage, request, expected decision); exit 1 on any mismatch (FILE [--config FILE])',
    run: async (a) => (await import('./test.ts')).runTest(a),
  },
  diff: {
    summary: 'who gains and loses which intents, per identity-provider group: --stage A --stage B [--config FILE], or --config OLD --config NEW [--stage S] [--json]',
    run: async (a) => (await import('./diff.ts')).runDiff(a),
  },
  check: { summary: 'validate a config file for every stage (--config FILE [--stage S])', run: async (a) => (await import('./check.ts')).runCheck(a) },
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    printHelp();
    return command === undefined ? 1 : 0;
  }
  if (command === 'version' || command === '--version') {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const cmd = COMMANDS[command];
  if (!cmd) {
    console.error(`cortex: unknown command '${command}'\n`);
    printHelp();
    return 1;
  }
  return cmd.run(rest);
}

function printHelp(): void {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  console.log(['usage: cortex <command> [options]', '', 'commands:', ...lines, '', 'Docs: docs/config-reference.md, docs/errors.md'].join('\n'));
}
