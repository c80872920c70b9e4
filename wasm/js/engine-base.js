// Where tqlib.js looks for the engines (tqlib_engine*.mjs/.wasm) when Tqlib.create() is given no
// engineBase. This is the repository's copy: the engines scripts/build-wasm writes, relative to
// this file (wasm/js/ -> build-wasm/wasm/dist/), for the demo and the benchmark page.
// The npm package ships another copy of this one file, written by scripts/pack-npm, that points
// at the package's own engines/ folder; everything else in the package is wasm/js as it is.
export const defaultEngineBase = new URL('../../build-wasm/wasm/dist/', import.meta.url).href;
