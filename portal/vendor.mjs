// Copies the portal's browser libraries from node_modules into the gateway's static/vendor/,
// the only place the portal loads them from (same origin: the CSP allows no CDN).
// Run after `npm ci`: `npm run vendor`. `--check` fails when the copies differ (used by the tests).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '..', 'services', 'gateway', 'src', 'motcua', 'gateway', 'static', 'vendor');
const LIBRARIES = [
  { from: 'qrcode-generator/dist/qrcode.mjs', to: 'qrcode-generator.mjs', package: 'qrcode-generator' },
];

let stale = 0;
for (const lib of LIBRARIES) {
  const meta = JSON.parse(readFileSync(join(here, 'node_modules', lib.package, 'package.json'), 'utf8'));
  const header = `// ${meta.name} ${meta.version} (${meta.license}), by ${meta.author}. Vendored from npm by portal/vendor.mjs: do not edit.\n`;
  const body = header + readFileSync(join(here, 'node_modules', lib.from), 'utf8');
  const path = join(target, lib.to);
  if (process.argv.includes('--check')) {
    let current;
    try { current = readFileSync(path, 'utf8'); } catch { current = ''; }
    if (current !== body) { console.error(`stale: ${path} (run: cd portal && npm ci && npm run vendor)`); stale += 1; }
  } else {
    writeFileSync(path, body);
    console.log(`vendored ${meta.name} ${meta.version} -> ${path}`);
  }
}
process.exit(stale ? 1 : 0);
