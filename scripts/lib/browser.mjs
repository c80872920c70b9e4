// What the browser tests (tests/browser/*.spec.mjs) and scripts/bench-wasm share: scripts/serve
// started on a free port, Debian's chromium driven by playwright-core (no browser download), the
// pass/fail tally, and native `tq run`'s greedy text to compare the browser's against.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const chromiumPath = process.env.TQLIB_CHROMIUM || '/usr/bin/chromium';

// One line per check, "N passed, N failed" last; finish() exits non-zero on any failure.
export function checker() {
  const tally = { passed: 0, failed: 0 };
  const check = (name, ok, detail = '') => {
    tally[ok ? 'passed' : 'failed']++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
  };
  const finish = () => {
    console.log(`${tally.passed} passed, ${tally.failed} failed`);
    process.exit(tally.failed ? 1 : 0);
  };
  return { check, finish, tally };
}

// scripts/serve on a free port: { proc, base, notFound }, once it prints its address. dir: the
// folder it serves (default the repository); isolate: COOP/COEP headers (threads); without quiet
// it prints one line per 404, collected in notFound.
export function startServer({ dir = null, isolate = true, quiet = false } = {}) {
  const args = [path.join(root, 'scripts/serve'), '--port', '0'];
  if (dir) args.push('--root', dir);
  if (!isolate) args.push('--no-isolation');
  if (quiet) args.push('--quiet');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const server = { proc: p, base: null, notFound: [] };
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const m = line.match(/serving (http:\/\/127\.0\.0\.1:\d+\/)/);
        if (m) { server.base = m[1]; resolve(server); }
        if (line.startsWith('404 ')) server.notFound.push(line.slice(4));
      }
    });
    p.on('exit', (code) => { if (!server.base) reject(new Error(`scripts/serve exited with ${code}`)); });
  });
}

// Headless chromium with a fresh profile: { context, close() } (close also removes the profile).
export async function launchChromium(options = {}) {
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tqlib-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...options,
  });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

// The text native `tq run --temp 0` generates: its output without the prompt (when echoed) and
// without the final newline.
export function nativeGreedy({ tq, model, prompt, tokens }) {
  let out = execFileSync(tq, ['run', model, '--prompt', prompt, '--temp', '0', '-n', String(tokens)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600000 });
  if (out.startsWith(prompt)) out = out.slice(prompt.length);
  return out.endsWith('\n') ? out.slice(0, -1) : out;
}
