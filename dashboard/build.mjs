// Builds the dashboard into dist/: index.html plus content-hashed assets (one script, one
// stylesheet, the icon), after type-checking src/. No inline script or style anywhere: the admin
// listener serves these files under a CSP that forbids them (src/admin/dashboard-assets.ts).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

const root = import.meta.dirname;
const dist = join(root, 'dist');
const assets = join(dist, 'assets');
const skipTypecheck = process.argv.includes('--no-typecheck');

if (!skipTypecheck) {
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', root], { stdio: 'inherit' });
  } catch {
    console.error('dashboard: type errors (above); nothing built');
    process.exit(1);
  }
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: [join(root, 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome111', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = outputs.find((name) => name.endsWith('.js'));
const style = outputs.find((name) => name.endsWith('.css'));
if (script === undefined || style === undefined) throw new Error(`esbuild wrote no script or stylesheet: ${outputs.join(', ')}`);

const iconSource = readFileSync(join(root, 'src', 'icon.svg'));
const icon = `icon-${createHash('sha256').update(iconSource).digest('hex').slice(0, 8)}.svg`;
writeFileSync(join(assets, icon), iconSource);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Cortex</title>
<link rel="icon" type="image/svg+xml" href="/assets/${icon}">
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`;
writeFileSync(join(dist, 'index.html'), html);

const sizes = [script, style].map((name) => `${name} ${(readFileSync(join(assets, name)).byteLength / 1024).toFixed(1)} KB`);
console.log(`dashboard built in ${dist}: ${sizes.join(', ')}`);
