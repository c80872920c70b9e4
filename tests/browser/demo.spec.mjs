// End-to-end test of the browser demo (wasm/demo/) in headless Debian chromium, driven by
// playwright-core (no browser download). Plain node script:
//   node tests/browser/demo.spec.mjs
// Needs: scripts/build-wasm (engines in build-wasm/wasm/dist/), Debian's chromium, npm ci, and for
// the model checks models/tqlib-default.mv2 and the native build/tq.
// Env: TQLIB_CHROMIUM (default /usr/bin/chromium), TQLIB_NATIVE_TQ (default build/tq),
//      TQLIB_SCREENSHOT (default build-wasm/browser-demo.png), TQLIB_PROMPT, TQLIB_TOKENS.
// Prints one line per check and "N passed, N failed" last; exits non-zero on any failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { root, chromiumPath, checker, startServer, launchChromium, nativeGreedy as tqGreedy } from '../../scripts/lib/browser.mjs';

const env = process.env;
const nativeTq = env.TQLIB_NATIVE_TQ || path.join(root, 'build/tq');
const screenshot = env.TQLIB_SCREENSHOT || path.join(root, 'build-wasm/browser-demo.png');
const modelPath = path.join(root, 'models/tqlib-default.mv2');
const prompt = env.TQLIB_PROMPT || 'The old man looked at the sea and';
const nTokens = Number(env.TQLIB_TOKENS || 24);
const dist = path.join(root, 'build-wasm/wasm/dist');
const { check, finish, tally } = checker();

const nativeGreedy = (model = modelPath) => tqGreedy({ tq: nativeTq, model, prompt, tokens: nTokens });

async function main() {
  // --- prerequisites: fail loudly, never pass by doing nothing ---
  for (const f of ['tqlib_engine_relaxed.mjs', 'tqlib_engine_relaxed_mt.mjs', 'tqlib_engine.mjs', 'tqlib_engine_mt.mjs',
    'tqlib_engine_scalar.mjs']) {
    if (!fs.existsSync(path.join(dist, f))) {
      check(`engine ${f} built`, false, `missing ${path.join(dist, f)}: run scripts/build-wasm`);
      return;
    }
  }
  if (!fs.existsSync(chromiumPath)) {
    check('chromium installed', false, `${chromiumPath} is missing: run scripts/setup`);
    return;
  }
  if (!fs.existsSync(modelPath)) {
    check('embedded default model present', false, `${modelPath} is missing`);
    return;
  }

  const server = await startServer({ quiet: true });
  const { context, close } = await launchChromium({ viewport: { width: 1280, height: 860 } });
  const pageErrors = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`  [page] ${m.text()}`); });
    const demo = `${server.base}wasm/demo/`;
    const open = async (query = '') => {
      await page.goto(demo + query);
      await page.waitForFunction(() => document.body.dataset.ready === '1' || document.body.dataset.state === 'error',
        null, { timeout: 60000 });
    };

    // 1. every engine variant starts and passes its self-test
    const variants = [['relaxed', true, true, false], ['relaxed-mt', true, true, true], ['simd', true, false, false],
      ['mt', true, false, true], ['scalar', false, false, false]];
    for (const [variant, simd, relaxed, threads] of variants) {
      await open(`?engine=${variant}`);
      const ready = await page.evaluate(() => document.body.dataset.ready === '1');
      check(`engine '${variant}' starts`, ready, ready ? '' : await page.textContent('#status'));
      if (!ready) continue;
      const info = await page.evaluate(() => window.tqlibDemo.tq.info);
      check(`engine '${variant}' build flags`, info.simd128 === simd && info.relaxed_simd === relaxed && info.threads === threads,
        JSON.stringify(info));
      const r = await page.evaluate(() => window.tqlibDemo.selftest());
      const bad = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      check(`engine '${variant}' self-test (${r.passed} checks, ${r.codecs} codecs, ${r.arch})`,
        r.failed === 0 && r.passed >= 10, bad.join('; '));
    }

    // 2. default page: cross-origin isolated, picks the threaded engine
    await open();
    const iso = await page.evaluate(() => ({ iso: crossOriginIsolated, variant: window.tqlibDemo.tq.variant }));
    check('page is cross-origin isolated and picks the threaded relaxed-SIMD engine', iso.iso && iso.variant === 'relaxed-mt',
      JSON.stringify(iso));

    // 3. a file that is not an MV2 model is refused with a clear message
    const loadFile = async (name, bytes, key = '') => {
      await page.setInputFiles('#model-file', { name, mimeType: 'application/octet-stream', buffer: bytes });
      await page.fill('#public-key', key);
      await page.click('#load');
      await page.waitForFunction(() => ['loaded', 'error'].includes(document.body.dataset.state), null, { timeout: 300000 });
      return { state: await page.evaluate(() => document.body.dataset.state), text: await page.textContent('#status') };
    };
    const junk = await loadFile('junk.mv2', Buffer.from('this is not a model file, just text'.repeat(10)));
    check('a non-MV2 file is refused', junk.state === 'error' && /not a valid or intact \.mv2 or \.gguf/.test(junk.text), junk.text);
    const badKey = await loadFile('junk.mv2', Buffer.from('x'), 'abc');
    check('a malformed public key is refused', badKey.state === 'error' && /64 hex digits/.test(badKey.text), badKey.text);

    // 4. the embedded default model: a tampered copy and a wrong key are refused
    const model = fs.readFileSync(modelPath);
    const tampered = Buffer.from(model);
    tampered[Math.floor(tampered.length * 0.6)] ^= 0x55; // inside the data section: a checksum must catch it
    const t = await loadFile('tampered.mv2', tampered);
    check('a tampered model is refused', t.state === 'error' && /not a valid or intact|Signature/.test(t.text), t.text);
    const wrongKey = 'tqlib-ed25519-public-key-v1\n' + '11'.repeat(32);
    const w = await loadFile('tqlib-default.mv2', model, wrongKey);
    check('a model is refused under a key that did not sign it', w.state === 'error' && /Signature check failed/.test(w.text), w.text);
    const trusted = path.join(root, 'models/tqlib-default.pub');
    if (fs.existsSync(trusted)) {
      const ok = await loadFile('tqlib-default.mv2', model, fs.readFileSync(trusted, 'utf8'));
      check('the default model verifies under models/tqlib-default.pub', ok.state === 'loaded', ok.text);
    }

    // 5. the embedded default model loads by URL and generates greedily what native tq does
    await open();
    await page.check('input[name=source][value=default]');
    await page.fill('#public-key', '');
    await page.click('#load');
    await page.waitForFunction(() => ['loaded', 'error'].includes(document.body.dataset.state), null, { timeout: 600000 });
    const loaded = await page.evaluate(() => ({ state: document.body.dataset.state, model: window.tqlibDemo.tq.model }));
    check('the embedded default model loads', loaded.state === 'loaded', await page.textContent('#status'));
    if (loaded.state !== 'loaded') return;
    check('the engine can generate with this model', loaded.model.can_generate === true, JSON.stringify(loaded.model));
    if (!loaded.model.can_generate) return;
    // The loaded model's greedy text against native tq run on the same file.
    const greedyMatchesNative = async (label, file) => {
      await page.fill('#temperature', '0');
      await page.fill('#max-tokens', String(nTokens));
      await page.fill('#prompt', prompt);
      await page.click('#send');
      await page.waitForFunction(() => ['loaded', 'error'].includes(document.body.dataset.state), null, { timeout: 600000 });
      const web = await page.evaluate(() => {
        const msgs = document.querySelectorAll('.msg.model');
        return { state: document.body.dataset.state, text: msgs.length ? msgs[msgs.length - 1].dataset.text : null,
          tps: window.tqlibDemo.tq.tokensPerSecond };
      });
      check(`${label}: greedy generation finishes`, web.state === 'loaded' && typeof web.text === 'string', await page.textContent('#status'));
      let native = null;
      try {
        native = nativeGreedy(file);
      } catch (e) {
        check('native tq run', false, `${nativeTq}: ${e.message.split('\n')[0]} (build it: cmake --build build --target tq)`);
      }
      if (native !== null) {
        check(`${label}: browser greedy text equals native tq run --temp 0`, web.text === native || web.text.trim() === native.trim(),
          `\n    browser: ${JSON.stringify(web.text)}\n    native:  ${JSON.stringify(native)}`);
      }
      console.log(`  ${label}: browser decode speed: ${web.tps.toFixed(2)} tokens/s`);
    };
    await greedyMatchesNative('default model', modelPath);
    // The same greedy text from every other engine (each its own kernels: relaxed, SIMD128, scalar).
    for (const [variant] of variants.filter(([v]) => v !== 'relaxed-mt')) {
      await open(`?engine=${variant}`);
      await page.check('input[name=source][value=default]');
      await page.fill('#public-key', '');
      await page.click('#load');
      await page.waitForFunction(() => ['loaded', 'error'].includes(document.body.dataset.state), null, { timeout: 600000 });
      const state = await page.evaluate(() => document.body.dataset.state);
      check(`engine '${variant}': the embedded default model loads`, state === 'loaded', await page.textContent('#status'));
      if (state === 'loaded') await greedyMatchesNative(`default model, engine '${variant}'`, modelPath);
    }
    await open();

    // 6. the embedded model as a GGUF file in llama.cpp's Q4_K_M mix (Q4_K, and Q5_0 / Q8_0 for
    // rows that are not whole 256-weight super-blocks, as llama-quantize falls back), loaded from
    // a file: made here by native tq from the float checkpoint.
    const ggufDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tqlib-gguf-'));
    const ggufPath = path.join(ggufDir, 'tqlib-default-q4_k_m.gguf');
    try {
      const mv2 = path.join(ggufDir, 'q4_k_m.mv2');
      // ffn_down (rows of 1024) in Q4_K, Q6_K in the first and last layer; the 384-wide rows fall back.
      execFileSync(nativeTq, ['quantize', path.join(root, 'models/default-float'), mv2, '--codec', 'q4_k', '--fallback', 'q5_0',
        '--override', 'model.layers.0.mlp.down_proj.weight=q6_k', '--override', 'model.layers.5.mlp.down_proj.weight=q6_k',
        '--embed-codec', 'q8', '--keep-codec', 'f32', '--quiet'], { stdio: 'ignore' });
      execFileSync(nativeTq, ['export-gguf', mv2, ggufPath], { stdio: 'ignore' });
      const gguf = await loadFile('tqlib-default-q4_k_m.gguf', fs.readFileSync(ggufPath));
      check('a Q4_K_M GGUF of the embedded model loads from a file', gguf.state === 'loaded', gguf.text);
      if (gguf.state === 'loaded') await greedyMatchesNative('Q4_K_M GGUF', ggufPath);
    } finally {
      fs.rmSync(ggufDir, { recursive: true, force: true });
    }
  } finally {
    check('no uncaught errors in the page', pageErrors.length === 0, pageErrors.join('; '));
    try {
      const page = context.pages()[0];
      if (page) {
        fs.mkdirSync(path.dirname(screenshot), { recursive: true });
        await page.screenshot({ path: screenshot, fullPage: true });
        console.log(`screenshot: ${screenshot}`);
      }
    } catch (e) {
      console.log(`screenshot failed: ${e.message}`);
    }
    await close();
    server.proc.kill();
  }
}

main().then(finish, (e) => {
  console.log(`FAIL ${e.stack || e}`);
  tally.failed++;
  finish();
});
