// The table of scripts/bench-vs-llamacpp from its results file (one JSON record a line:
// {"engine":"tq"|"llama.cpp","file":LABEL,"round":R,"result":{...}}).
//
//   node scripts/bench/table.mjs RESULTS.jsonl CONFIG [tq:CODEC=REFLABEL]...
// CONFIG: the records of which configuration ("native" or "avx2") to tabulate.
//
// Per file and thread count (MB/token: the weight bytes tq reads per decoded token): median [min-max] over rounds of decode and prefill tokens/s for tq
// and llama.cpp, and tq / llama.cpp as the median of the per-round ratios. A tq:CODEC row has no
// llama.cpp run of its own: it is compared with llama.cpp on REFLABEL in the same round and thread
// count. A row whose partner is missing in a round fails the script: no ratio is made up.
import fs from "node:fs";

const [file, config, ...refArgs] = process.argv.slice(2);
const refs = Object.fromEntries(refArgs.map((a) => a.split("=")));
const recs = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((x) => x.config === config);
if (!recs.length) throw new Error(`no results for ${config}`);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
// tq bench prints {"median":..} per phase (one timed run: -r 1); llamacpp-bench.mjs an array.
const value = (r, key) => (Array.isArray(r[key]) ? median(r[key]) : r[key].median);
const get = (engine, label, threads, round) =>
  recs.find((x) => x.engine === engine && x.file === label && x.result.threads === threads && x.round === round);

const rounds = [...new Set(recs.map((x) => x.round))].sort((a, b) => a - b);
const threadList = [...new Set(recs.map((x) => x.result.threads))];
const labels = [...new Set(recs.filter((x) => x.engine === "tq").map((x) => x.file))];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const spread = (xs) => (xs.length > 1 ? `${fmt(median(xs))} [${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}]` : fmt(xs[0]));

console.log("| file | MB/token | threads | decode tq | decode llama.cpp | decode tq/llama.cpp | prefill tq | prefill llama.cpp | prefill tq/llama.cpp |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const label of labels)
  for (const t of threadList) {
    const other = refs[label] ?? label;
    const cols = { decode_tps: { tq: [], ll: [], ratio: [] }, pp_tps: { tq: [], ll: [], ratio: [] } };
    for (const r of rounds) {
      const a = get("tq", label, t, r), b = get("llama.cpp", other, t, r);
      if (!a && !b) continue;
      if (!a || !b) throw new Error(`round ${r}, ${t} thread(s): ${label} has no ${a ? "llama.cpp" : "tq"} result to compare with`);
      for (const k of Object.keys(cols)) {
        const x = value(a.result, k), y = value(b.result, k);
        cols[k].tq.push(x);
        cols[k].ll.push(y);
        cols[k].ratio.push(x / y);
      }
    }
    if (!cols.pp_tps.tq.length) continue;
    const name = other === label ? label : `${label} (vs ${other})`;
    const mb = (get("tq", label, t, rounds.find((r) => get("tq", label, t, r))).result.bytes_per_token / 1e6).toFixed(1);
    const c = (k) => `${spread(cols[k].tq)} | ${spread(cols[k].ll)} | **${median(cols[k].ratio).toFixed(2)}x**`;
    console.log(`| ${name} | ${mb} | ${t} | ${c("decode_tps")} | ${c("pp_tps")} |`);
  }
