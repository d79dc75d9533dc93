// The physics engine of an env that needs one (MuJoCo, Box2D), loaded before the first Env is made: the build
// ships it as the page's 'engine.wasm' (a URL, compiled while it downloads and checked against its integrity, or
// inline bytes in the single-file build).
// Only such an env's page has this module (the build's virtual:engine; null for the others).
import kernel from 'virtual:kernel';
import { load } from 'virtual:env';
import { kernelFile } from './backends/common.js';

export default async function loadEngine() {
  const file = kernelFile(kernel, 'engine.wasm', new URL('.', import.meta.url));
  try {
    await load(
      typeof file === 'string'
        ? { url: file, integrity: kernel.integrity?.['engine.wasm'] }
        : { bytes: file },
    );
  } catch (err) {
    // nothing of the page runs without its engine: say why where the picture would be
    const e = document.getElementById('error');
    e.textContent =
      `Something went wrong: the physics engine did not load (${err?.message || err}). ` +
      'Rebuild with `make bundle`, or check that every file was uploaded.';
    e.hidden = false;
    throw err;
  }
}
