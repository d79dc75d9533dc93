// The engine of an env that needs one (MuJoCo, Box2D, ALE), loaded before the first Env is made: the build
// ships it as the page's 'engine.wasm', and the one data file its engine takes for this env (an Atari game's
// ROM), if any, as 'engine.data'; each a URL (checked against the integrity the build recorded; the engine
// compiled while it downloads) or inline bytes in the single-file build.
// Only such an env's page has this module (the build's virtual:engine; null for the others).
import kernel from 'virtual:kernel';
import { load } from 'virtual:env';
import { kernelFile } from './backends/common.js';

/** The page's file `name` as the env's load() takes it: {url, integrity} or {bytes} (inline). */
function source(name, base) {
  const file = kernelFile(kernel, name, base);
  return typeof file === 'string' ? { url: file, integrity: kernel.integrity?.[name] } : { bytes: file };
}

export default async function loadEngine() {
  const base = new URL('.', import.meta.url);
  const hasData = Object.hasOwn(kernel.urls ?? kernel.inline ?? {}, 'engine.data');
  try {
    await load({
      ...source('engine.wasm', base),
      ...(hasData ? { data: source('engine.data', base) } : {}),
    });
  } catch (err) {
    // nothing of the page runs without its engine: say why where the picture would be
    const e = document.getElementById('error');
    e.textContent =
      `Something went wrong: the environment's engine did not load (${err?.message || err}). ` +
      'Rebuild with `make bundle`, or check that every file was uploaded.';
    e.hidden = false;
    throw err;
  }
}
