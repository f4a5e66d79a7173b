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
  explain: {
    summary: 'the policy decision for one caller and request: (--as NAME | --claims FILE | --token JWT) METHOD PATH [--config FILE] [--stage S] [--json]',
    run: async (a) => (await import('./explain.ts')).runExplain(a),
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
