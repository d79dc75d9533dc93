// The lazy `python` backend's files (multi-file pages only): MicroPython's runtime and wasm from node_modules,
// rl_web_agent/runtime_py/mlp.py, and the kernel's policy.weights.json (the kernel folder: compile writes it from the
// checkpoint it compiled; readKernel checks it is this kernel's).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from './kernel.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MICROPYTHON = path.join(ROOT, 'node_modules', '@micropython', 'micropython-webassembly-pyscript');

// Stable virtual paths: the asset names come from these (and the content hash), never from a temp folder.
// micropython.mjs is served as .js: some hosts lack .mjs in their MIME table, and modules need a JS type.
export const PY_NAMES = {
  'python:runtime': 'micropython.js',
  'python:runtime-wasm': 'micropython.wasm',
  'python:reference': 'reference.py',
  'python:weights': 'policy.weights.json',
};

/** The python backend's files for kernel `k` (one with weightsJson): {'python:<part>': {contents, loader}}. */
export function pythonFiles(k) {
  const files = {
    'python:runtime': [path.join(MICROPYTHON, 'micropython.mjs'), 'file'],
    'python:runtime-wasm': [path.join(MICROPYTHON, 'micropython.wasm'), 'file'],
    'python:reference': [path.join(ROOT, 'rl_web_agent', 'runtime_py', 'mlp.py'), 'text'],
  };
  for (const [spec, [file]] of Object.entries(files)) {
    if (!fs.existsSync(file)) fail(`${file} missing (python backend, ${spec}): run \`npm ci\``);
  }
  const loaded = Object.fromEntries(
    Object.entries(files).map(([spec, [file, loader]]) => [
      spec,
      { contents: fs.readFileSync(file), loader },
    ]),
  );
  loaded['python:weights'] = { contents: fs.readFileSync(k.weightsJson), loader: 'file' };
  return loaded;
}
