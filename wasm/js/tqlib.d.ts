// Types for tqlib.js (npm package tqlib-web; wasm/js/ in the repository): tqlib's WebAssembly
// engine, run in a Web Worker.

export type TqlibErrorCode =
  | 'invalid_argument' | 'truncated' | 'corrupt' | 'unsupported' | 'io' | 'signature' | 'out_of_memory' | 'error';

export class TqlibError extends Error {
  readonly code: TqlibErrorCode;
}

/** 'relaxed': WebAssembly relaxed SIMD (int8 dot products), one thread. 'relaxed-mt': the same
 *  with threads. 'simd': SIMD128, one thread. 'mt': SIMD128 + threads. 'scalar': no SIMD
 *  (baseline). Threaded variants need a cross-origin isolated page. 'auto' picks relaxed-mt, mt,
 *  relaxed, simd, scalar: the first this browser and page run. */
export type EngineVariant = 'relaxed' | 'relaxed-mt' | 'simd' | 'mt' | 'scalar';

export interface CreateOptions {
  variant?: EngineVariant | 'auto';
  /** URL of the folder holding tqlib_engine*.mjs/.wasm (default: defaultEngineBase). */
  engineBase?: string | URL;
  /** Threads for a threaded engine (default navigator.hardwareConcurrency). */
  threads?: number;
}

export interface EngineInfo {
  version: string;
  arch: string;
  simd128: boolean;
  relaxed_simd: boolean;
  threads: boolean;
  model_api: boolean;
  variant: EngineVariant;
}

export type ModelSource = string | URL | ArrayBuffer | Blob | { url: string } | { file: Blob } | { buffer: ArrayBuffer };

export interface LoadOptions {
  /** Trusted Ed25519 public key: 64 hex digits or a tqlib .pub file's text. When given, the
   *  model is refused (code 'signature') unless its signature verifies with this key. */
  publicKey?: string | null;
}

export interface ModelInfo {
  format: 'mv2' | 'gguf';
  file_bytes: number;
  tensors: number;
  stored_bytes: number;
  raw_bytes: number;
  signed: boolean;
  signature_verified: boolean;
  vocab_size?: number;
  context?: number;
  threads?: number;
  can_generate: boolean;
  memoryBytes: number;
}

export interface GenerateParams {
  /** 0 = greedy. Defaults are `tq run`'s: 0.8, 40, 0.95, 0.05, 1, 0, 128. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  seed?: number;
  maxTokens?: number;
  /** Wrap the prompt in the model's chat template (tq run --chat). */
  chat?: boolean;
}

export interface TokenEvent {
  /** Token id, or -1 for trailing text flushed at the end. */
  token: number;
  text: string;
  tokens: number;
  tokensPerSecond: number;
  memoryBytes: number;
}

export interface GenerateSummary {
  reason: 'eos' | 'length' | 'stopped';
  text: string;
  tokens: number;
  tokensPerSecond: number;
  promptSeconds: number;
  memoryBytes: number;
}

export interface Generation extends AsyncIterableIterator<TokenEvent> {
  /** Resolves with the summary when generation ends. */
  readonly done: Promise<GenerateSummary>;
}

export interface ProgressDetail {
  stage: 'download' | 'verify' | 'decompress';
  done: number;
  total: number;
}

export interface SelftestReport {
  arch: string;
  passed: number;
  failed: number;
  codecs: number;
  checks: { name: string; ok: boolean; detail: string }[];
}

/** Where the engines are looked for by default, an absolute URL: the npm package's engines/
 *  folder next to tqlib.js (in the repository: build-wasm/wasm/dist/). */
export const defaultEngineBase: string;
export function hasWasmSimd(): boolean;
export function canUseThreads(): boolean;
export function hasRelaxedSimd(): boolean;
/** The variants that run threads (and need a cross-origin isolated page). */
export const threadedVariants: readonly EngineVariant[];
export function pickVariant(): EngineVariant;

export class Tqlib extends EventTarget {
  static create(options?: CreateOptions): Promise<Tqlib>;
  readonly variant: EngineVariant;
  readonly threads: number;
  readonly info: EngineInfo;
  model: ModelInfo | null;
  /** Decode speed of the latest generation. */
  tokensPerSecond: number;
  /** WebAssembly memory in use, bytes. */
  memoryBytes: number;
  selftest(): Promise<SelftestReport>;
  load(source: ModelSource, options?: LoadOptions): Promise<ModelInfo>;
  generate(prompt: string, params?: GenerateParams): Generation;
  stop(): void;
  reset(): Promise<boolean>;
  unload(): Promise<boolean>;
  terminate(): void;
  addEventListener(type: 'progress', listener: (e: CustomEvent<ProgressDetail>) => void): void;
  addEventListener(type: 'token', listener: (e: CustomEvent<TokenEvent>) => void): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void;
}
