// The MuJoCo engine file a MuJoCo page ships: @mujoco/mujoco's single-threaded mujoco.wasm without its
// debug and name sections (custom sections: nothing the engine runs reads them), about 45% of the bytes.
// Build time only (web/build/build.mjs); the page's loader is web/page/envs/mujoco/engine.js.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const NO_EVAL = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'page',
  'envs',
  'mujoco',
  'no_eval.js',
);
// The two lines of the loader's craftInvokerFunction that build a function from source text (see no_eval.js)
const EVAL_LINES = `      let [args, invokerFnBody] = createJsInvoker(argTypes, isClassMethodFunc, returns, isAsync);
      var invokerFn = new Function(...args, invokerFnBody)(...closureArgs);`;
const NO_EVAL_LINE =
  '      var invokerFn = invokerWithoutEval({ argTypes, isClassMethodFunc, returns, cppInvokerFunc, ' +
  'cppTargetFunc, humanName, minArgs, expectedArgCount, needsDestructorStack, checkArgCount, throwBindingError, ' +
  'runDestructors });';

/** Does this resolved path name the single-threaded loader the page bundles? */
export const isLoader = (file) => file === require.resolve('@mujoco/mujoco');

/**
 * The loader (@mujoco/mujoco's mujoco.js) with Embind's `new Function` invokers swapped for no_eval.js's
 * closure, so that MuJoCo pages keep a CSP without 'unsafe-eval'. Fails loudly if another version of the
 * loader no longer has those exact lines. Returns esbuild onLoad's {contents, resolveDir} (no_eval.js's folder).
 */
export function loaderWithoutEval() {
  const src = fs.readFileSync(require.resolve('@mujoco/mujoco'), 'utf8');
  if (src.split(EVAL_LINES).length !== 2) {
    throw new Error(
      '@mujoco/mujoco: craftInvokerFunction changed; update web/build/mujoco_engine.mjs (EVAL_LINES)',
    );
  }
  return {
    contents: `import { invokerWithoutEval } from './no_eval.js';\n${src.replace(EVAL_LINES, () => NO_EVAL_LINE)}`,
    resolveDir: path.dirname(NO_EVAL),
  };
}

/** Custom sections dropped: DWARF (.debug_*), the name section, and pointers to external debug files. */
const dropped = (name) =>
  name === 'name' ||
  name.startsWith('.debug') ||
  name === 'sourceMappingURL' ||
  name === 'external_debug_info';

function leb128(buf, at) {
  let v = 0,
    shift = 0,
    b;
  do {
    if (at >= buf.length) throw new Error('truncated LEB128');
    b = buf[at++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [v, at];
}

/** wasm bytes without the dropped custom sections (every other section kept byte for byte, in order). */
export function stripWasm(buf) {
  if (buf.length < 8 || buf.readUInt32LE(0) !== 0x6d736100) throw new Error('not a WebAssembly module');
  const keep = [buf.subarray(0, 8)];
  let at = 8;
  while (at < buf.length) {
    const start = at,
      id = buf[at];
    const [size, body] = leb128(buf, at + 1);
    const end = body + size;
    if (end > buf.length) throw new Error('a section runs past the end of the module');
    let drop = false;
    if (id === 0) {
      const [n, nameAt] = leb128(buf, body);
      drop = dropped(buf.subarray(nameAt, nameAt + n).toString('utf8'));
    }
    if (!drop) keep.push(buf.subarray(start, end));
    at = end;
  }
  return Buffer.concat(keep);
}

let cached = null;
/** The stripped engine of the installed @mujoco/mujoco (read and stripped once per build). */
export function engineWasm() {
  cached ??= stripWasm(fs.readFileSync(require.resolve('@mujoco/mujoco/mujoco.wasm')));
  return cached;
}
