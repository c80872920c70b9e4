// tqlib in the browser: a small promise/async-iterator API over the WebAssembly engine, which
// runs in a Web Worker (worker.js) so the page never freezes.
//
//   import { Tqlib } from './tqlib.js';
//   const tq = await Tqlib.create();                       // picks threads/SIMD/scalar itself
//   tq.addEventListener('progress', (e) => console.log(e.detail)); // {stage, done, total}
//   await tq.load({ url: '/models/tqlib-default.mv2' }, { publicKey: '…64 hex…' });
//   for await (const t of tq.generate('Once upon a time', { temperature: 0, maxTokens: 32 }))
//     out.textContent += t.text;                           // t.tokensPerSecond, t.memoryBytes
//   tq.stop(); tq.reset(); tq.terminate();
//
// Errors are TqlibError with .code: 'invalid_argument', 'truncated', 'corrupt', 'unsupported',
// 'io', 'signature' (bad or missing signature), 'out_of_memory', 'error'.

export class TqlibError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TqlibError';
    this.code = code;
  }
}

// The folder of the engines, by URL relative to engine-base.js: build-wasm/wasm/dist/ in the
// repository, the package's engines/ folder in the npm package (scripts/pack-npm).
import { defaultEngineBase } from './engine-base.js';

export { defaultEngineBase };

// True when this browser runs WebAssembly SIMD (a module using one v128 instruction validates).
export function hasWasmSimd() {
  return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
}

// Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages
// (served with COOP: same-origin and COEP: require-corp, as scripts/serve does).
export function canUseThreads() {
  return typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated === true;
}

// True when this browser runs relaxed SIMD: a module whose one function is
// i32x4.relaxed_dot_i8x16_i7x16_add (0xfd 0x113) over three splats validates.
export function hasRelaxedSimd() {
  return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 19, 1, 17, 0, 65, 0, 253, 15, 65, 0, 253, 15, 65, 0, 253, 15, 253, 147, 2, 11]));
}

// The best engine this browser and page can run: relaxed SIMD over SIMD128 over scalar, threaded
// when the page is cross-origin isolated.
export function pickVariant() {
  if (!hasWasmSimd()) return 'scalar';
  const relaxed = hasRelaxedSimd();
  if (canUseThreads()) return relaxed ? 'relaxed-mt' : 'mt';
  return relaxed ? 'relaxed' : 'simd';
}

const engineFile = {
  relaxed: 'tqlib_engine_relaxed.mjs', 'relaxed-mt': 'tqlib_engine_relaxed_mt.mjs',
  simd: 'tqlib_engine.mjs', mt: 'tqlib_engine_mt.mjs', scalar: 'tqlib_engine_scalar.mjs',
};
// The variants that run threads (and need a cross-origin isolated page).
export const threadedVariants = ['relaxed-mt', 'mt'];

export class Tqlib extends EventTarget {
  // options: { variant: 'auto'|'relaxed'|'relaxed-mt'|'simd'|'mt'|'scalar', engineBase: URL of the
  //            engines' folder, threads: number (threaded variants; default navigator.hardwareConcurrency) }
  static async create(options = {}) {
    const variant = !options.variant || options.variant === 'auto' ? pickVariant() : options.variant;
    if (!engineFile[variant]) throw new TqlibError('invalid_argument', `unknown engine variant '${variant}'`);
    if (variant.startsWith('relaxed') && !hasRelaxedSimd()) {
      throw new TqlibError('unsupported', 'this browser does not run WebAssembly relaxed SIMD (pick simd or mt)');
    }
    const threaded = threadedVariants.includes(variant);
    if (threaded && !canUseThreads()) {
      throw new TqlibError('unsupported', 'the threaded engine needs a cross-origin isolated page (COOP/COEP headers)');
    }
    const tq = new Tqlib();
    tq.variant = variant;
    tq.threads = threaded ? Math.max(1, options.threads || navigator.hardwareConcurrency || 1) : 1;
    const engineUrl = new URL(engineFile[variant], options.engineBase || defaultEngineBase).href;
    tq.info = await tq._request({ type: 'init', engineUrl, variant });
    return tq;
  }

  constructor() {
    super();
    this._worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this._next = 1;
    this._calls = new Map();
    this._streams = new Map();
    this.tokensPerSecond = 0;
    this.memoryBytes = 0;
    this._worker.onmessage = (e) => this._onMessage(e.data);
    this._worker.onerror = (e) => {
      const err = new TqlibError('error', `engine worker failed: ${e.message || 'could not start'}`);
      for (const { reject } of this._calls.values()) reject(err);
      this._calls.clear();
    };
  }

  _request(msg, transfer) {
    const id = this._next++;
    return new Promise((resolve, reject) => {
      this._calls.set(id, { resolve, reject });
      this._worker.postMessage({ ...msg, id }, transfer || []);
    });
  }

  _onMessage(m) {
    if (m.type === 'progress') {
      this.dispatchEvent(new CustomEvent('progress', { detail: { stage: m.stage, done: m.done, total: m.total } }));
    } else if (m.type === 'token') {
      this.tokensPerSecond = m.tokensPerSecond;
      this.memoryBytes = m.memoryBytes;
      const s = this._streams.get(m.id);
      if (s) s.push({ value: m });
      this.dispatchEvent(new CustomEvent('token', { detail: m }));
    } else if (m.type === 'result') {
      const c = this._calls.get(m.id);
      if (!c) return;
      this._calls.delete(m.id);
      if (m.error) c.reject(new TqlibError(m.error.code, m.error.message));
      else c.resolve(m.result);
    }
  }

  // Runs the engine's built-in self-test (codec kernels vs reference, zstd, BLAKE2b, Ed25519).
  selftest() {
    return this._request({ type: 'selftest' });
  }

  // source: { url } | { file: File|Blob } | { buffer: ArrayBuffer } (or a URL string / File /
  // ArrayBuffer directly). options.publicKey: a trusted Ed25519 public key (64 hex digits or a
  // tqlib .pub file's text): the model is refused unless its signature verifies with it.
  // Progress events: stage 'download' (bytes), 'verify', 'decompress' (tensors).
  async load(source, options = {}) {
    if (typeof source === 'string' || source instanceof URL) source = { url: String(source) };
    else if (source instanceof ArrayBuffer) source = { buffer: source };
    else if (typeof Blob !== 'undefined' && source instanceof Blob) source = { file: source };
    if (source.url) source = { url: new URL(source.url, location.href).href };
    const transfer = source.buffer ? [source.buffer] : [];
    this.model = await this._request({ type: 'load', source, publicKey: options.publicKey || null,
      threads: this.threads }, transfer);
    this.memoryBytes = this.model.memoryBytes;
    return this.model;
  }

  // Streams generated tokens: an async iterator of {token, text, tokens, tokensPerSecond,
  // memoryBytes}; its return value (and `.done`, a promise) is the summary {reason: 'eos' |
  // 'length' | 'stopped', text, tokens, tokensPerSecond, promptSeconds, memoryBytes}.
  // params: { temperature (0 = greedy), topK, topP, seed, maxTokens }.
  generate(prompt, params = {}) {
    const id = this._next++;
    const queue = [];
    let wake = null;
    const stream = { push: (item) => { queue.push(item); if (wake) { wake(); wake = null; } } };
    this._streams.set(id, stream);
    const done = new Promise((resolve, reject) => {
      this._calls.set(id, {
        resolve: (r) => { this.tokensPerSecond = r.tokensPerSecond; this.memoryBytes = r.memoryBytes; stream.push({ end: r }); resolve(r); },
        reject: (e) => { stream.push({ error: e }); reject(e); },
      });
    });
    done.catch(() => {}); // surfaced through the iterator too
    this._worker.postMessage({ type: 'generate', id, params: { ...params, prompt } });
    const self = this;
    const iterator = {
      done,
      async next() {
        while (!queue.length) await new Promise((r) => { wake = r; });
        const item = queue.shift();
        if (item.error) { self._streams.delete(id); throw item.error; }
        if (item.end) { self._streams.delete(id); return { done: true, value: item.end }; }
        return { done: false, value: item.value };
      },
      async return() { self.stop(); await done.catch(() => {}); self._streams.delete(id); return { done: true }; },
      [Symbol.asyncIterator]() { return this; },
    };
    return iterator;
  }

  // Stops the running generation after the current token.
  stop() {
    this._worker.postMessage({ type: 'stop' });
  }

  // Forgets the conversation (KV cache); the model stays loaded.
  reset() {
    return this._request({ type: 'reset' });
  }

  unload() {
    this.model = null;
    return this._request({ type: 'unload' });
  }

  terminate() {
    this._worker.terminate();
  }
}
