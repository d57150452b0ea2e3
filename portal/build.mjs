// Bundles the portal's ES modules (static/js, entry main.js) into static/dist/ with esbuild, so a
// browser fetches one script (and a chunk for the lazily imported QR code) instead of walking ~30
// imports in round trips. `make run` and `make test` run it (`npm run build`); the output is not
// committed. dist/sources.sha256 records the digest of the sources it was built from, in the same
// form the gateway computes (motcua.gateway.release.sources_digest): a gateway whose js/ no longer
// matches it serves the modules themselves (with modulepreload) instead of a stale bundle.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, '..', 'services', 'gateway', 'src', 'motcua', 'gateway', 'static');
const out = join(staticDir, 'dist');

function files(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? files(path) : [path];
  });
}

/** sha256 over each source file under js/ and vendor/, in sorted order: its path, NUL, its bytes, NUL. */
function sourcesDigest() {
  const digest = createHash('sha256');
  const all = [...files(join(staticDir, 'js')), ...files(join(staticDir, 'vendor'))]
    .map((path) => relative(staticDir, path).split(sep).join('/'))
    .sort();
  for (const name of all) {
    digest.update(`${name}\0`);
    digest.update(readFileSync(join(staticDir, name)));
    digest.update('\0');
  }
  return digest.digest('hex');
}

// `--if-stale`: leave a bundle built from these very sources alone (the tests ask for this: several test
// processes may share the checkout, and one of them may be serving the bundle while another starts).
const sources = sourcesDigest();
if (process.argv.includes('--if-stale')) {
  let built = '';
  try {
    built = readFileSync(join(out, 'sources.sha256'), 'utf8').trim();
  } catch {
    // no bundle yet
  }
  if (built === sources) {
    console.log(`portal bundle up to date -> ${relative(process.cwd(), out)}`);
    process.exit(0);
  }
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(staticDir, 'js', 'main.js')],
  bundle: true,
  splitting: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  chunkNames: 'chunk-[hash]',
  outdir: out,
  logLevel: 'warning',
});
writeFileSync(join(out, 'sources.sha256'), `${sources}\n`);
console.log(`portal bundle -> ${relative(process.cwd(), out)}`);
