#!/usr/bin/env node
/* global process */
// Entry point of the `cortex` command. The project pins Node 24 (the `node` dev dependency), which
// runs the TypeScript sources directly; an older Node on PATH gets a clear message instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `cortex needs Node.js 24 (found ${process.versions.node}). Run it through npm: \`npx cortex ...\` ` +
      'or `npm run cortex -- ...`, which use the Node version this project pins.\n',
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
