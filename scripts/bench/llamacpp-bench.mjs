// llama.cpp side of scripts/bench-vs-llamacpp: one model, one thread count, through the npm
// package node-llama-cpp (prebuilt llama.cpp, CPU backend, GPU off).
//
//   NODE_PATH=<prefix>/node_modules node scripts/bench/llamacpp-bench.mjs \
//     --model FILE.gguf --threads T [--prompt 128] [--gen 64] [--ctx 512] [--runs 1] [--warmup 1]
//
// Per run: a fresh sequence of a context of --ctx tokens evaluates --prompt token ids
// (pseudo-random ids below the first special token, as `tq bench` takes them; with random weights
// any ids cost the same) and samples the first token greedily (prefill:
// prompt tokens / that time), then --gen decode steps, one token each, greedy (decode: gen / that
// time). --warmup untimed runs first, as `tq bench` and llama-bench do. Prints one JSON line:
// {"threads":T,"pp_tps":[...],"decode_tps":[...],"backend":"libggml-cpu-zen4.so",...}.
// The CPU backend variant is the libggml-cpu-*.so this process has mapped (/proc/self/maps):
// ggml loads the best variant the CPU supports among the files in node-llama-cpp's bins folder.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

function fail(msg) {
  process.stderr.write(`llamacpp-bench: ${msg}\n`);
  process.exit(1);
}

const args = { prompt: 128, gen: 64, ctx: 512, runs: 1, warmup: 1 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, ""), v = process.argv[i + 1];
  if (v === undefined) fail(`${process.argv[i]} needs a value`);
  args[k] = k === "model" ? v : Number(v);
  if (k !== "model" && !Number.isInteger(args[k])) fail(`--${k} must be an integer, got '${v}'`);
}
if (!args.model) fail("--model FILE.gguf is required");
if (!args.threads || args.threads < 1) fail("--threads T (>= 1) is required");
if (!fs.existsSync(args.model)) fail(`no such model file: ${args.model}`);
if (args.prompt + args.gen + 1 > args.ctx) fail(`prompt + gen + 1 (${args.prompt + args.gen + 1}) exceeds --ctx ${args.ctx}`);

// Resolve node-llama-cpp from NODE_PATH (the script's project-local install), not from the repo.
const base = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
if (!base.length) fail("NODE_PATH must point at the node_modules folder holding node-llama-cpp");
const require = createRequire(path.join(path.resolve(base[0]), "_"));
let entry;
try {
  entry = require.resolve("node-llama-cpp");
} catch (e) {
  fail(`node-llama-cpp not found under ${base[0]}: ${e.message}`);
}
const nlc = await import(entry);
const pkg = JSON.parse(fs.readFileSync(path.join(path.resolve(base[0]), "node-llama-cpp", "package.json"), "utf8"));

const logs = [];
const llama = await nlc.getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  skipDownload: true,
  progressLogs: false,
  maxThreads: 0, // no cap: the context's `threads` is then the number used
  logLevel: nlc.LlamaLogLevel.warn,
  logger: (level, message) => logs.push(`${level}: ${message}`),
});
const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
const context = await model.createContext({ contextSize: args.ctx, batchSize: args.ctx, threads: args.threads, sequences: 1 });

const maps = fs.readFileSync("/proc/self/maps", "utf8");
const backends = [...new Set([...maps.matchAll(/\/(libggml-cpu[^/\s]*\.so)\s*$/gm)].map((m) => m[1]))];
const backendPaths = [...new Set([...maps.matchAll(/(\/\S*libggml-cpu[^/\s]*\.so)\s*$/gm)].map((m) => m[1]))];
if (backends.length !== 1) fail(`expected one libggml-cpu-*.so mapped, found: ${backends.join(", ") || "none"}`);

// The same kind of prompt as `tq bench`: pseudo-random ids below the first special token.
const vocab = Math.min(model.tokens.bos ?? 151643, 151643);
let state = 0x9e3779b97f4a7c15n;
const prompt = [];
for (let i = 0; i < args.prompt; ++i) {
  state = (state * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
  prompt.push(Number((state >> 33n) % BigInt(vocab)));
}

const sequence = context.getSequence();
const pp = [], dec = [];
for (let run = 0; run < args.warmup + args.runs; ++run) {
  await sequence.clearHistory();
  const it = sequence.evaluate(prompt, { temperature: 0 });
  const t0 = process.hrtime.bigint();
  let r = await it.next(); // evaluates the prompt, samples the first token
  const t1 = process.hrtime.bigint();
  if (r.done) fail("the model produced no token after the prompt");
  let steps = 0;
  while (steps < args.gen) {
    r = await it.next(); // evaluates the last token, samples the next
    if (r.done) break;
    ++steps;
  }
  const t2 = process.hrtime.bigint();
  await it.return();
  // llama.cpp's own thread count for this context (node-llama-cpp may lower it under contention).
  if (context.currentThreads !== args.threads) fail(`llama.cpp ran on ${context.currentThreads} threads, not ${args.threads}`);
  if (steps !== args.gen) fail(`generation stopped after ${steps} of ${args.gen} decode steps (end of generation token?)`);
  if (run < args.warmup) continue;
  pp.push(args.prompt / (Number(t1 - t0) / 1e9));
  dec.push(args.gen / (Number(t2 - t1) / 1e9));
}
const out = {
  threads: args.threads,
  pp_tps: pp,
  decode_tps: dec,
  backend: backends[0],
  backend_path: backendPaths[0],
  node_llama_cpp: pkg.version,
  llama_cpp_release: llama.llamaCppRelease?.release ?? null,
  gpu: llama.gpu,
};
await context.dispose();
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out) + "\n");
