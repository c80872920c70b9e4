// The npm package of the web engine (scripts/pack-npm), used as a web developer would: installed
// from its tarball into a scratch folder, imported through an import map from node_modules by a
// plain static page, and run in headless Debian chromium (playwright-core, no browser download).
//   node tests/browser/npm-package.spec.mjs build-wasm/npm/tqlib-web-<version>.tgz
// (scripts/test-npm-package packs the tarball and runs this.) Checks the tarball's file list
// (package.json, types, worker, every engine in build-wasm/wasm/dist/), that node resolves the
// package's exports, and that the page, served with and without COOP/COEP, generates greedily
// what native `tq run --temp 0` does on models/tqlib-default.mv2.
// Env: TQLIB_CHROMIUM (default /usr/bin/chromium), TQLIB_NATIVE_TQ (default build/tq),
//      TQLIB_WASM_BUILD_DIR (default build-wasm), TQLIB_PROMPT, TQLIB_TOKENS (default 16),
//      TQLIB_KEEP_SCRATCH=1 keeps the scratch folder.
// Prints one line per check and "N passed, N failed" last; exits non-zero on any failure.
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, chromiumPath, checker, startServer as serve, launchChromium, nativeGreedy as tqGreedy } from '../../scripts/lib/browser.mjs';

const env = process.env;
const nativeTq = env.TQLIB_NATIVE_TQ || path.join(root, 'build/tq');
const dist = path.join(path.resolve(root, env.TQLIB_WASM_BUILD_DIR || 'build-wasm'), 'wasm/dist');
const modelPath = path.join(root, 'models/tqlib-default.mv2');
const srcDir = path.join(root, 'wasm/js');
const prompt = env.TQLIB_PROMPT || 'Once upon a time';
const nTokens = Number(env.TQLIB_TOKENS || 16);
const tarball = process.argv[2] ? path.resolve(process.argv[2]) : '';
const { check, finish, tally } = checker();

const libraryVersion = (() => {
  const m = fs.readFileSync(path.join(root, 'include/tqlib/version.hpp'), 'utf8').match(/TQLIB_VERSION_STRING "([^"]+)"/);
  if (!m) throw new Error('no TQLIB_VERSION_STRING in include/tqlib/version.hpp');
  return m[1];
})();

// scripts/serve on the scratch folder (not --quiet: its 404 lines are collected, so a file the
// page asks for that the package lacks is a failure).
const startServer = (dir, isolate) => serve({ dir, isolate });

const nativeGreedy = () => tqGreedy({ tq: nativeTq, model: modelPath, prompt, tokens: nTokens });

// The engines tqlib.js can pick (its engineFile table names them).
function apiEngines() {
  return [...new Set(fs.readFileSync(path.join(srcDir, 'tqlib.js'), 'utf8').match(/tqlib_engine\w*\.mjs/g) || [])];
}

// 1. The tarball's file list.
function checkTarball() {
  const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  const has = (f) => list.includes(f);
  const pkg = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
  check(`tarball holds package.json (${pkg.name}@${pkg.version})`, has('package.json'));
  check('package version equals include/tqlib/version.hpp', pkg.version === libraryVersion,
    `package ${pkg.version}, library ${libraryVersion}`);
  for (const f of ['tqlib.js', 'engine-base.js', 'worker.js', 'tqlib.d.ts', 'README.md', 'LICENSE']) {
    check(`tarball holds ${f}`, has(f));
  }
  const built = fs.readdirSync(dist).filter((f) => f.startsWith('tqlib_engine')).sort();
  const shipped = list.filter((f) => f.startsWith('engines/')).map((f) => f.slice(8)).sort();
  check(`tarball holds every engine file in dist (${built.length}: ${built.join(' ')})`,
    built.length > 0 && built.every((f) => shipped.includes(f)),
    built.some((f) => !shipped.includes(f)) ? `missing: ${built.filter((f) => !shipped.includes(f)).join(' ')}` : '');
  const api = apiEngines();
  const apiMissing = api.flatMap((e) => [e, e.replace(/\.mjs$/, '.wasm')]).filter((f) => !shipped.includes(f));
  check(`tarball holds every engine tqlib.js can pick (${api.join(' ')}), .mjs and .wasm`,
    api.length > 0 && apiMissing.length === 0, apiMissing.length ? `missing: ${apiMissing.join(' ')}` : '');
  const expected = new Set(['package.json', 'tqlib.js', 'engine-base.js', 'worker.js', 'tqlib.d.ts', 'README.md', 'LICENSE']);
  const extra = list.filter((f) => !expected.has(f) && !/^engines\/tqlib_engine[^/]*$/.test(f));
  check('tarball holds nothing else', extra.length === 0, extra.join(' '));
  return pkg;
}

// 2. Installed into a scratch folder from the tarball alone (offline, its own npm cache).
function install(scratch, pkg) {
  fs.writeFileSync(path.join(scratch, 'package.json'),
    JSON.stringify({ name: 'tqlib-npm-scratch', private: true, type: 'module' }, null, 2));
  const r = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error',
    '--cache', path.join(scratch, '.npm-cache'), tarball], { cwd: scratch, encoding: 'utf8', timeout: 300000 });
  const dir = path.join(scratch, 'node_modules', pkg.name);
  const ok = r.status === 0 && fs.existsSync(path.join(dir, 'package.json'));
  return check('npm install --offline TARBALL in a scratch folder', ok,
    ok ? '' : `exit ${r.status}: ${(r.error || r.stderr || '').toString().trim().split('\n').slice(-3).join(' | ')}`) ? dir : null;
}

// 3. Node resolves the package's exports as a bundler or TypeScript would, and the module loads.
function checkExports(scratch, pkgDir, pkg) {
  const probe = path.join(scratch, 'probe.mjs');
  fs.writeFileSync(probe, `
const name = ${JSON.stringify(pkg.name)};
const out = { resolve: {} };
for (const s of [name, name + '/worker.js', name + '/package.json', name + '/engines/tqlib_engine.mjs']) {
  try { out.resolve[s] = import.meta.resolve(s); } catch (e) { out.resolve[s] = 'ERROR ' + e.message; }
}
try { out.privateFile = import.meta.resolve(name + '/engine-base.js'); } catch (e) { out.privateFile = null; }
const m = await import(name);
out.exports = Object.keys(m).sort();
out.defaultEngineBase = m.defaultEngineBase;
console.log(JSON.stringify(out));
`);
  let out;
  try {
    out = JSON.parse(execFileSync(process.execPath, [probe], { cwd: scratch, encoding: 'utf8' }));
  } catch (e) {
    check('node imports the package', false, e.message.split('\n').slice(0, 3).join(' | '));
    return;
  }
  const url = (f) => new URL(f, `file://${pkgDir}/`).href;
  const want = { [pkg.name]: url('tqlib.js'), [`${pkg.name}/worker.js`]: url('worker.js'),
    [`${pkg.name}/package.json`]: url('package.json'), [`${pkg.name}/engines/tqlib_engine.mjs`]: url('engines/tqlib_engine.mjs') };
  for (const [s, u] of Object.entries(want)) {
    check(`exports: '${s}' resolves to ${u.slice(url('').length)}`, out.resolve[s] === u, out.resolve[s] === u ? '' : out.resolve[s]);
  }
  check('exports: engine-base.js is not exported', out.privateFile === null, out.privateFile);
  const types = pkg.exports?.['.']?.types;
  check(`exports['.'].types and types name the shipped .d.ts`, types && path.normalize(types) === path.normalize(pkg.types) &&
    fs.existsSync(path.join(pkgDir, types)), `${types} / ${pkg.types}`);
  check(`defaultEngineBase is the package's engines/ folder`, out.defaultEngineBase === url('engines/'),
    out.defaultEngineBase === url('engines/') ? '' : out.defaultEngineBase);
  const dts = fs.readFileSync(path.join(pkgDir, pkg.types), 'utf8');
  const undeclared = out.exports.filter((n) => !new RegExp(`export\\s+(declare\\s+)?(class|function|const|let)\\s+${n}\\b`).test(dts));
  check(`the .d.ts declares every export of tqlib.js (${out.exports.join(' ')})`, out.exports.includes('Tqlib') && undeclared.length === 0,
    undeclared.length ? `undeclared: ${undeclared.join(' ')}` : '');
  // The package's code is wasm/js's, byte for byte, but for the generated engine-base.js.
  for (const f of ['tqlib.js', 'worker.js', 'tqlib.d.ts']) {
    check(`${f} in the package is wasm/js/${f}`, fs.readFileSync(path.join(pkgDir, f)).equals(fs.readFileSync(path.join(srcDir, f))));
  }
}

// 4. The web developer's page: an import map for the bare specifier (its target read from the
// package's exports), the app importing 'tqlib-web', the model next to it.
function writeApp(scratch, pkg) {
  const entry = pkg.exports['.'].default || pkg.exports['.'].import;
  const importMap = { imports: { [pkg.name]: `./node_modules/${pkg.name}/${entry.replace(/^\.\//, '')}` } };
  fs.writeFileSync(path.join(scratch, 'index.html'), `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tqlib-web from npm</title>
<link rel="icon" href="data:,">
<script type="importmap">${JSON.stringify(importMap)}</script>
<script type="module" src="./app.js"></script>
</head>
<body><pre id="out"></pre></body>
</html>
`);
  fs.writeFileSync(path.join(scratch, 'app.js'), `import { Tqlib } from '${pkg.name}';

// ?engine=auto|simd|mt|... (default auto), ?prompt=, ?n=
const q = new URLSearchParams(location.search);
const out = document.getElementById('out');
try {
  const tq = await Tqlib.create({ variant: q.get('engine') || 'auto' });
  const model = await tq.load('./tqlib-default.mv2');
  let text = '';
  for await (const t of tq.generate(q.get('prompt') || 'Hello', { temperature: 0, maxTokens: Number(q.get('n') || 16) })) {
    text += t.text;
    out.textContent = text;
  }
  window.result = { variant: tq.variant, info: tq.info, model, text, isolated: crossOriginIsolated };
  tq.terminate();
  document.body.dataset.state = 'done';
} catch (e) {
  window.result = { error: { code: e.code, message: e.message } };
  document.body.dataset.state = 'error';
}
`);
  fs.copyFileSync(modelPath, path.join(scratch, 'tqlib-default.mv2'));
  return importMap;
}

async function main() {
  // --- prerequisites: fail loudly, never pass by doing nothing ---
  if (!tarball || !fs.existsSync(tarball)) {
    check('package tarball given', false, `${tarball || '(none)'}: run scripts/test-npm-package (or scripts/pack-npm, then pass its path)`);
    return;
  }
  for (const [what, f, fix] of [['engines built', dist, 'run scripts/build-wasm'], ['chromium installed', chromiumPath, 'run scripts/setup'],
    ['embedded default model present', modelPath, '']]) {
    if (!fs.existsSync(f)) { check(what, false, `${f} is missing${fix ? `: ${fix}` : ''}`); return; }
  }

  const pkg = checkTarball();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tqlib-npm-'));
  const servers = [];
  let browser = null;
  const pageErrors = [];
  try {
    const pkgDir = install(scratch, pkg);
    if (!pkgDir) return;
    checkExports(scratch, pkgDir, pkg);
    const importMap = writeApp(scratch, pkg);
    console.log(`  scratch app: ${scratch} (import map ${JSON.stringify(importMap.imports)})`);

    let native = null;
    if (!fs.existsSync(nativeTq)) {
      check('native tq for the reference text', false, `${nativeTq} is missing (build it: cmake --build build --target tq)`);
    } else {
      try {
        native = nativeGreedy();
      } catch (e) {
        check('native tq run', false, `${nativeTq}: ${e.message.split('\n')[0]}`);
      }
    }

    browser = await launchChromium();
    const page = browser.context.pages()[0] || (await browser.context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`  [page] ${m.text()}`); });

    // Opens the app with ?engine=, waits for its result.
    const run = async (server, engine) => {
      const query = new URLSearchParams({ engine, prompt, n: String(nTokens) });
      await page.goto(`${server.base}index.html?${query}`);
      await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 600000 });
      return page.evaluate(() => window.result);
    };
    const generates = (label, r) => {
      if (!check(`${label}: the model loads from the page and generates`, r && !r.error && typeof r.text === 'string',
        JSON.stringify(r && r.error))) return;
      check(`${label}: engine reports the package's version`, r.info.version === pkg.version, `${r.info.version} vs ${pkg.version}`);
      if (native !== null) {
        check(`${label}: greedy text equals native tq run --temp 0 -n ${nTokens}`, r.text === native,
          `\n    browser: ${JSON.stringify(r.text)}\n    native:  ${JSON.stringify(native)}`);
      }
    };

    // Cross-origin isolated (COOP/COEP): the relaxed-SIMD and SIMD128 engines, 1 thread and threaded, and what auto picks.
    const iso = await startServer(scratch, true);
    servers.push(iso);
    for (const [engine, threads] of [['relaxed', false], ['relaxed-mt', true], ['simd', false], ['mt', true]]) {
      const r = await run(iso, engine);
      generates(`engine '${engine}' (isolated page)`, r);
      if (r && r.info) {
        check(`engine '${engine}': build flags`, r.variant === engine && r.info.simd128 === true && r.info.threads === threads && r.isolated === true,
          JSON.stringify({ variant: r.variant, ...r.info, isolated: r.isolated }));
      }
    }
    const auto = await run(iso, 'auto');
    generates(`engine 'auto' (isolated page) picked '${auto?.variant ?? '(none)'}'`, auto);
    if (auto && auto.info) check(`engine 'auto' on an isolated page picks a threaded engine`, auto.info.threads === true, auto.variant);
    check('isolated server: no request the package could not serve (404)', iso.notFound.length === 0, iso.notFound.join(' '));

    // Without COOP/COEP: auto falls back to a single-thread engine; the threaded one is refused.
    const plain = await startServer(scratch, false);
    servers.push(plain);
    const single = await run(plain, 'auto');
    generates(`engine 'auto' (page not isolated) picked '${single?.variant ?? '(none)'}'`, single);
    if (single && single.info) {
      check(`engine 'auto' without COOP/COEP picks a single-thread engine`, single.info.threads === false && single.isolated === false,
        JSON.stringify({ variant: single.variant, isolated: single.isolated }));
    }
    const mt = await run(plain, 'mt');
    check(`engine 'mt' without COOP/COEP is refused as 'unsupported'`, mt && mt.error && mt.error.code === 'unsupported' &&
      /cross-origin isolated/.test(mt.error.message), JSON.stringify(mt));
    check('plain server: no request the package could not serve (404)', plain.notFound.length === 0, plain.notFound.join(' '));
  } finally {
    check('no uncaught errors in the page', pageErrors.length === 0, pageErrors.join('; '));
    if (browser) await browser.close();
    for (const s of servers) s.proc.kill();
    if (env.TQLIB_KEEP_SCRATCH === '1') console.log(`  kept ${scratch}`);
    else fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(finish, (e) => {
  console.log(`FAIL ${e.stack || e}`);
  tally.failed++;
  finish();
});
