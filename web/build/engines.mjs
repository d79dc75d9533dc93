// The physics engines a page can ship, by spec.engine (docs/design.md, "An environment"): where each one's
// wasm comes from and the page's byte budget with it. The page core knows none of them: a page gets its
// env's engine as 'engine.wasm' (content-hashed, preloaded, fetched with its SRI integrity).
import fs from 'node:fs';
import path from 'node:path';
import { sha256b64 } from './html.mjs';
import { fail } from './kernel.mjs';
import { engineWasm as mujocoWasm } from './mujoco_engine.mjs';
import { ROOT } from './paths.mjs';

/** Box2D: built here from third_party/box2d by `make engines` (zig); its API is engines/box2d/api.cpp's. */
const BOX2D_WASM = path.join(ROOT, 'build', 'engines', 'box2d.wasm');
const BOX2D_EXPORTS = ['memory', 'world_new', 'world_step', 'body_new', 'body_read', 'fixture_polygon'];

function box2dWasm() {
  if (!fs.existsSync(BOX2D_WASM))
    fail(`${BOX2D_WASM} is missing: run \`make engines\` (Box2D, built by zig)`);
  const bytes = fs.readFileSync(BOX2D_WASM);
  let names;
  try {
    names = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  } catch (err) {
    fail(`${BOX2D_WASM} is not a WebAssembly module (${err.message}): rebuild it with \`make engines\``);
  }
  const missing = BOX2D_EXPORTS.filter((n) => !names.includes(n));
  if (missing.length) fail(`${BOX2D_WASM} lacks ${missing.join(', ')}: an older build; run \`make engines\``);
  return bytes;
}

export const ENGINES = {
  // the official build's wasm (@mujoco/mujoco), stripped of debug and name sections: ~1.27 MB gzipped; with
  // HalfCheetah's 256x256 actor (282 KB gz) its page is 1,554 KB
  mujoco: { wasm: mujocoWasm, budgetGz: 1600 * 1024 },
  // Box2D 2.3.10 and its C API: ~42 KB gzipped; the page with kernel and app stays under 100 KB
  box2d: { wasm: box2dWasm, budgetGz: 100 * 1024 },
};

const cache = new Map();
/** The engine named by an env's spec.engine: {bytes, integrity (SRI), budgetGz}; a one-line error otherwise. */
export function engineFor(name) {
  if (!Object.hasOwn(ENGINES, name)) {
    fail(`spec.engine '${name}' is no engine the build knows: one of ${Object.keys(ENGINES).join(', ')}`);
  }
  if (!cache.has(name)) {
    const bytes = ENGINES[name].wasm();
    cache.set(name, { bytes, integrity: sha256b64(bytes), budgetGz: ENGINES[name].budgetGz });
  }
  return cache.get(name);
}
