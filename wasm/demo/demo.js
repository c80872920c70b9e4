// The tqlib browser demo: loads a model (embedded default, the user's file, or a URL), optionally
// checks its signature against a trusted key, and streams generated text into a chat view.
// body[data-state] tells tests where the page is: starting, idle, loading, loaded, generating, error.
import { Tqlib, TqlibError } from '../js/tqlib.js';

const $ = (id) => document.getElementById(id);
const defaultModelUrl = new URL('../../models/tqlib-default.mv2', import.meta.url).href;
const params = new URLSearchParams(location.search);

let tq = null;
let busy = false;

function setState(s) { document.body.dataset.state = s; }

function status(text, kind = '') {
  const el = $('status');
  el.textContent = text;
  el.className = kind;
}

function mib(bytes) { return bytes ? `${(bytes / 1048576).toFixed(0)} MiB` : '–'; }

// One plain sentence per error code, then the engine's own detail.
function explain(err) {
  const detail = err && err.message ? err.message : String(err);
  switch (err && err.code) {
    case 'signature': return `Signature check failed: this model is not signed by the trusted key. (${detail})`;
    case 'corrupt': case 'truncated': return `This is not a valid or intact .mv2 or .gguf model file. (${detail})`;
    case 'unsupported': return `This model uses something this engine does not support. (${detail})`;
    case 'out_of_memory': return `Out of memory: the browser could not give the engine enough memory. (${detail})`;
    case 'io': return `Could not read the model. (${detail})`;
    case 'invalid_argument': return detail;
    default: return `Error: ${detail}`;
  }
}

function showError(err) {
  console.error(err);
  status(explain(err), 'error');
  setState('error');
}

function updateReadouts() {
  if (!tq) return;
  $('tps').textContent = tq.tokensPerSecond ? tq.tokensPerSecond.toFixed(1) : '–';
  $('memory').textContent = mib(tq.memoryBytes);
}

function setBusy(b) {
  busy = b;
  $('load').disabled = b;
  $('send').disabled = b || !tq || !tq.model || !tq.model.can_generate;
  $('stop').disabled = !b;
  $('reset').disabled = b || !tq || !tq.model;
}

async function checkDefaultModel() {
  try {
    const r = await fetch(defaultModelUrl, { method: 'HEAD' });
    if (r.ok) {
      $('default-note').textContent = `(${mib(Number(r.headers.get('content-length')))})`;
      return true;
    }
  } catch { /* offline or blocked: reported below */ }
  $('default-note').textContent = '— missing from this checkout';
  status('The embedded default model (models/tqlib-default.mv2) is missing from this checkout: ' +
    'pick your own .mv2 or .gguf file or a URL.', 'error');
  return false;
}

function chosenSource() {
  const kind = document.querySelector('input[name=source]:checked').value;
  if (kind === 'file') {
    const f = $('model-file').files[0];
    if (!f) throw new TqlibError('invalid_argument', 'Choose a .mv2 or .gguf file first.');
    return { source: { file: f }, name: f.name };
  }
  if (kind === 'url') {
    const u = $('model-url').value.trim();
    if (!u) throw new TqlibError('invalid_argument', 'Enter the model URL first.');
    return { source: { url: u }, name: u };
  }
  return { source: { url: defaultModelUrl }, name: 'models/tqlib-default.mv2' };
}

async function loadModel() {
  if (busy) return;
  setBusy(true);
  setState('loading');
  $('model-info').textContent = '';
  $('progress-label').textContent = '';
  $('progress').value = 0;
  try {
    const { source, name } = chosenSource();
    status(`Loading ${name}…`);
    const info = await tq.load(source, { publicKey: $('public-key').value.trim() || null });
    $('progress').value = 1;
    $('progress-label').textContent = '';
    const parts = [`${info.tensors} tensors`, `${mib(info.file_bytes)} file`, `${mib(info.raw_bytes)} weights`];
    parts.push(info.signature_verified ? 'signature verified' : info.signed ? 'signed (no key given: not checked)' : 'unsigned');
    $('model-info').textContent = parts.join(' · ');
    status(info.can_generate ? `Loaded ${name}.` : `Loaded and checked ${name}; this engine build cannot generate text yet.`, 'ok');
    setState('loaded');
  } catch (err) {
    showError(err);
  } finally {
    setBusy(false);
    updateReadouts();
  }
}

function addMessage(kind, text) {
  const div = document.createElement('div');
  div.className = `msg ${kind}`;
  div.textContent = text;
  $('chat').appendChild(div);
  $('chat').scrollTop = $('chat').scrollHeight;
  return div;
}

function samplingParams() {
  const num = (id) => Number($(id).value);
  return { temperature: num('temperature'), topK: num('top-k'), topP: num('top-p'), minP: num('min-p'),
    maxTokens: num('max-tokens'), seed: num('seed'), chat: $('chat-template').checked };
}

async function generate(prompt) {
  if (busy || !prompt) return;
  setBusy(true);
  setState('generating');
  addMessage('user', prompt);
  const out = addMessage('model streaming', '');
  const body = document.createTextNode('');
  out.appendChild(body);
  try {
    const it = tq.generate(prompt, samplingParams());
    for await (const t of it) {
      body.appendData(t.text);
      updateReadouts();
      $('chat').scrollTop = $('chat').scrollHeight;
    }
    const r = await it.done;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${r.tokens} tokens · ${r.tokensPerSecond.toFixed(1)} tokens/s · ${r.reason}`;
    out.appendChild(meta);
    out.dataset.text = r.text;
    status(`Done (${r.reason}).`, 'ok');
    setState('loaded');
  } catch (err) {
    showError(err);
  } finally {
    out.classList.remove('streaming');
    setBusy(false);
    updateReadouts();
  }
}

async function selftest() {
  const r = await tq.selftest();
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
  status(failed.length ? `Self-test: ${r.failed} failed (${failed.join(', ')})`
    : `Self-test: all ${r.passed} checks passed on ${r.arch}.`, failed.length ? 'error' : 'ok');
  return r;
}

async function main() {
  setBusy(true);
  try {
    tq = await Tqlib.create({ variant: params.get('engine') || 'auto' });
  } catch (err) {
    showError(new TqlibError(err.code || 'error',
      `The WebAssembly engine did not start (${err.message}). Build it with scripts/build-wasm.`));
    return;
  }
  $('engine').textContent = `${tq.variant} · ${tq.info.arch}${tq.threads > 1 || tq.variant.endsWith('mt') ? ` · ${tq.threads} threads` : ''}`;
  tq.addEventListener('progress', (e) => {
    const { stage, done, total } = e.detail;
    $('progress').value = total ? done / total : 0;
    $('progress-label').textContent = stage === 'download'
      ? `downloading ${mib(done)} of ${mib(total)}` : `${stage} ${done}/${total}`;
  });
  setBusy(false);
  setState('idle');
  status('Engine ready.', 'ok');
  $('load').onclick = loadModel;
  $('selftest').onclick = () => selftest().catch(showError);
  $('stop').onclick = () => tq.stop();
  $('reset').onclick = async () => { await tq.reset(); $('chat').textContent = ''; status('Conversation reset.', 'ok'); };
  $('prompt-form').onsubmit = (e) => { e.preventDefault(); generate($('prompt').value.trim()); };
  $('model-file').onchange = () => { document.querySelector('input[value=file]').checked = true; };
  $('model-url').oninput = () => { document.querySelector('input[value=url]').checked = true; };
  await checkDefaultModel();
  // For tests and scripts: the page's engine and actions.
  window.tqlibDemo = { tq, loadModel, generate, selftest };
  document.body.dataset.ready = '1';
}

main();
