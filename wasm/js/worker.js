// tqlib engine worker (module worker). Owns the WebAssembly engine so the page never freezes:
// downloads/reads the model straight into wasm memory, verifies and decompresses it, and
// generates tokens one at a time, yielding to its event loop between tokens so "stop" is seen.
// Protocol: see wasm/js/tqlib.js (the only intended user of this file).

const ERRC = ['ok', 'invalid_argument', 'truncated', 'corrupt', 'unsupported', 'io', 'signature', 'out_of_memory'];
const MiB = 1024 * 1024;

let M = null; // the Emscripten module
let engine = null; // info about the loaded engine variant
let generating = null; // {id, stop: bool}

class EngineError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const post = (msg, transfer) => self.postMessage(msg, transfer || []);
const str = (ptr) => M.UTF8ToString(ptr);

function lastError(rc) {
  return new EngineError(ERRC[rc] || 'error', str(M._tq_last_error()));
}

// A macrotask yield without setTimeout's 4 ms clamp.
const channel = new MessageChannel();
const pending = [];
channel.port1.onmessage = () => pending.shift()();
const yieldNow = () => new Promise((resolve) => { pending.push(resolve); channel.port2.postMessage(0); });

function withCString(text, fn) {
  const n = M.lengthBytesUTF8(text) + 1;
  const p = M._malloc(n);
  if (!p) throw new EngineError('out_of_memory', 'out of WebAssembly memory for the prompt');
  try {
    M.stringToUTF8(text, p, n);
    return fn(p);
  } finally {
    M._free(p);
  }
}

async function init({ engineUrl, variant }) {
  const { default: create } = await import(engineUrl);
  M = await create({
    // .wasm (and the pthread worker) next to the .mjs
    locateFile: (path) => new URL(path, engineUrl).href,
    onTqProgress: (stage, done, total) => post({ type: 'progress', stage, done, total }),
    print: (t) => console.log('[tqlib]', t),
    printErr: (t) => console.warn('[tqlib]', t),
  });
  engine = { ...JSON.parse(str(M._tq_info())), variant };
  return engine;
}

// Reads a model source into a malloc'ed block of wasm memory: returns [ptr, n].
async function readModel(source) {
  let size = 0;
  let reader = null;
  if (source.buffer) {
    size = source.buffer.byteLength;
    const p = allocModel(size);
    M.HEAPU8.set(new Uint8Array(source.buffer), p);
    post({ type: 'progress', stage: 'download', done: size, total: size });
    return [p, size];
  }
  if (source.file) {
    size = source.file.size;
    reader = source.file.stream().getReader();
  } else if (source.url) {
    let res;
    try {
      res = await fetch(source.url);
    } catch (e) {
      throw new EngineError('io', `cannot download ${source.url}: ${e.message}`);
    }
    if (!res.ok) {
      throw new EngineError('io', res.status === 404
        ? `model not found at ${source.url} (HTTP 404)`
        : `cannot download ${source.url}: HTTP ${res.status}`);
    }
    size = Number(res.headers.get('content-length') || 0);
    if (!size || res.headers.get('content-encoding')) {
      // Unknown length: collect the chunks first.
      const buf = new Uint8Array(await res.arrayBuffer());
      return readModel({ buffer: buf.buffer });
    }
    reader = res.body.getReader();
  } else {
    throw new EngineError('invalid_argument', 'no model source given');
  }
  const p = allocModel(size);
  let off = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (off + value.length > size) {
      M._free(p);
      throw new EngineError('io', `the model is longer than its announced ${size} bytes`);
    }
    M.HEAPU8.set(value, p + off); // HEAPU8 is re-read: memory may have grown
    off += value.length;
    post({ type: 'progress', stage: 'download', done: off, total: size });
  }
  if (off !== size) {
    M._free(p);
    throw new EngineError('truncated', `download stopped after ${off} of ${size} bytes`);
  }
  return [p, size];
}

function allocModel(size) {
  const p = M._malloc(size);
  if (!p) {
    throw new EngineError('out_of_memory',
      `cannot allocate ${(size / MiB).toFixed(1)} MiB of WebAssembly memory for the model ` +
      `(this page has ${(M.HEAPU8.length / MiB).toFixed(0)} MiB and may grow to 4096 MiB)`);
  }
  return p;
}

function parsePublicKey(text) {
  if (!text) return null;
  const lines = String(text).trim().split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines[0] === 'tqlib-ed25519-public-key-v1') lines.shift();
  const hex = (lines[0] || '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new EngineError('invalid_argument',
      'the trusted public key must be 64 hex digits (or the text of a tqlib .pub file)');
  }
  const key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) key[i] = parseInt(hex.substr(2 * i, 2), 16);
  return key;
}

async function load({ source, publicKey, threads }) {
  const key = parsePublicKey(publicKey);
  M._tq_unload();
  const [p, n] = await readModel(source);
  let keyPtr = 0;
  if (key) {
    keyPtr = M._malloc(32);
    M.HEAPU8.set(key, keyPtr);
  }
  let rc;
  try {
    rc = M._tq_load(p, n, keyPtr, threads || 1); // takes ownership of p
  } finally {
    if (keyPtr) M._free(keyPtr);
  }
  if (rc !== 0) throw lastError(rc);
  return { ...JSON.parse(str(M._tq_model_info())), memoryBytes: M._tq_memory_bytes() };
}

// Defaults are tq run's (tools/tq/cmd_run.cpp).
async function generate(id, { prompt, temperature = 0.8, topK = 40, topP = 0.95, minP = 0.05, repeatPenalty = 1,
  seed = 0, maxTokens = 128, chat = false }) {
  generating = { id, stop: false };
  const t0 = performance.now();
  const rc = withCString(prompt, (p) => M._tq_begin(p, temperature, topK, topP, minP, repeatPenalty, Math.max(0, Math.floor(seed)),
    maxTokens, chat ? 1 : 0));
  if (rc !== 0) throw lastError(rc);
  const tPrompt = performance.now();
  let tokens = 0;
  let reason = 'length';
  let text = '';
  try {
    for (;;) {
      if (generating.stop) { reason = 'stopped'; break; }
      const tok = M._tq_step();
      if (tok === -2) throw lastError(M._tq_last_error_code());
      if (tok === -1) {
        const tail = str(M._tq_piece()); // text the detokenizer held back (an incomplete UTF-8 sequence)
        if (tail) {
          text += tail;
          post({ type: 'token', id, token: -1, text: tail, tokens, tokensPerSecond: tokens / ((performance.now() - tPrompt) / 1000),
            memoryBytes: M._tq_memory_bytes() });
        }
        reason = tokens >= maxTokens ? 'length' : 'eos';
        break;
      }
      tokens++;
      const piece = str(M._tq_piece());
      text += piece;
      const secs = (performance.now() - tPrompt) / 1000;
      post({ type: 'token', id, token: tok, text: piece, tokens, tokensPerSecond: tokens / secs,
        memoryBytes: M._tq_memory_bytes() });
      await yieldNow();
    }
  } finally {
    generating = null;
  }
  const decodeSecs = (performance.now() - tPrompt) / 1000;
  return { reason, text, tokens, tokensPerSecond: tokens ? tokens / decodeSecs : 0,
    promptSeconds: (tPrompt - t0) / 1000, memoryBytes: M._tq_memory_bytes() };
}

self.onmessage = async (e) => {
  const msg = e.data;
  if (msg.type === 'stop') { if (generating) generating.stop = true; return; }
  try {
    let result;
    switch (msg.type) {
      case 'init': result = await init(msg); break;
      case 'selftest': result = JSON.parse(str(M._tq_selftest())); break;
      case 'load': result = await load(msg); break;
      case 'generate': result = await generate(msg.id, msg.params); break;
      case 'reset': M._tq_reset(); result = true; break;
      case 'unload': M._tq_unload(); result = true; break;
      case 'memory': result = M._tq_memory_bytes(); break;
      default: throw new EngineError('invalid_argument', `unknown request ${msg.type}`);
    }
    post({ type: 'result', id: msg.id, result });
  } catch (err) {
    // An abort inside wasm (e.g. memory exhausted outside a checked allocation) leaves the module
    // unusable; say so plainly.
    let code = err.code || 'error';
    let message = err.message || String(err);
    if (err instanceof WebAssembly.RuntimeError || /Aborted|out of memory|Cannot enlarge memory/i.test(message)) {
      if (/memory|alloc|enlarge/i.test(message) || (M && M.HEAPU8 && M.HEAPU8.length > 3.5 * 1024 * MiB)) {
        code = 'out_of_memory';
        message = `the engine ran out of WebAssembly memory (${message}); reload the page or pick a smaller model`;
      }
    }
    post({ type: 'result', id: msg.id, error: { code, message } });
  }
};
