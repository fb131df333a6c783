// Builds the annotator into the static files Django serves (committed, so `make run` needs no npm).
//   npm run build          one-off production build (minified, no source map: the bundle is committed)
//   npm run watch          rebuild on change while developing, with an inline source map
import { build, context } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readFileSync } from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, '../apps/annotation/static/annotation');

const watch = process.argv.includes('--watch');
const ws = JSON.parse(readFileSync(path.join(here, 'node_modules/wavesurfer.js/package.json'), 'utf8'));
const banner = `/*! Earmark annotator (frontend/ in the Earmark repository; do not edit this built file).
 * Bundles wavesurfer.js ${ws.version} and its plugins: ${ws.license}, (c) ${ws.author}, ${ws.homepage} */`;

const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  legalComments: 'eof',
  logLevel: 'info',
};

const options = [
  {
    ...common,
    entryPoints: ['src/main.js'],
    outfile: path.join(outdir, 'annotator.js'),
    format: 'esm',
    banner: { js: banner },
    sourcemap: watch ? 'inline' : false,
  },
  // What the first paint does not need (src/later.js), a bundle of its own that annotator.js imports once the
  // waveform is drawn (src/load-later.js). Two separate builds, not esbuild's code splitting: that would move the
  // modules both use into a third file annotator.js imports before it can run (one more round trip before the
  // first paint). The few helpers both use (util.js, dom.js) are small and stateless, so each bundle has a copy.
  {
    ...common,
    entryPoints: ['src/later.js'],
    outfile: path.join(outdir, 'annotator-later.js'),
    format: 'esm',
    banner: { js: banner },
    sourcemap: watch ? 'inline' : false,
  },
  {
    ...common,
    entryPoints: ['src/annotator.css'],
    outfile: path.join(outdir, 'annotator.css'),
  },
];

if (watch) {
  for (const o of options) await (await context(o)).watch();
} else {
  await Promise.all(options.map((o) => build(o)));
}
