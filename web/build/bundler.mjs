// esbuild for the pages: the plugin that gives a page build its virtual modules (the kernel manifest, the lazy
// backends, the env; the python backend's files and the MuJoCo loader), and one esbuild run into memory.
import path from 'node:path';
import * as esbuild from 'esbuild';
import { bundleWebgpu, fail } from './kernel.mjs';
import { isLoader, loaderWithoutEval } from './mujoco_engine.mjs';
import { PAGE, ROOT } from './paths.mjs';
import { PY_NAMES, pythonFiles } from './python.mjs';

export function virtualPlugin(k, manifest, python, env) {
  const py = python ? pythonFiles(k) : {};
  const lazy = [];
  if (k.gpuJs) lazy.push(`webgpu: () => import('./lazy/backends/webgpu.js')`);
  if (python) lazy.push(`python: () => import('./lazy/backends/python.js')`);
  const modules = {
    'virtual:kernel': `export default ${JSON.stringify(manifest)};`,
    'virtual:backends': `export default {${lazy.join(', ')}};`,
    // load: an engine env's loader (docs/design.md), null for the others; a variant's spec and Env are the
    // module's variants[frames] (an imported Atari policy's game: web/page/envs/index.js)
    'virtual:env':
      (env.variant
        ? `import { variants } from ${JSON.stringify(env.envJs)};\n` +
          `export const { spec, Env } = variants[${JSON.stringify(env.variant)}];\n` +
          `export { load } from ${JSON.stringify(env.envJs)};\n`
        : `export { spec, Env${env.engine ? ', load' : ''} } from ${JSON.stringify(env.envJs)};\n`) +
      (env.engine ? '' : 'export const load = null;\n') +
      `export { renderer } from ${JSON.stringify(env.renderJs)};`,
    // what loads the engine before the first Env (core/engine.js), null without one: a page without an engine
    // carries none of its code (esbuild keeps a branch on a null it imports)
    'virtual:engine': env.engine
      ? `export { default } from ${JSON.stringify(path.join(PAGE, 'core', 'engine.js'))};`
      : 'export default null;',
  };
  return {
    name: 'virtual',
    setup(b) {
      b.onResolve({ filter: /^virtual:/ }, (a) =>
        a.path in modules
          ? { path: a.path, namespace: 'virtual' }
          : { errors: [{ text: `${a.path}: no such virtual module in a page build` }] },
      );
      b.onLoad({ filter: /.*/, namespace: 'virtual' }, (a) => ({
        contents: modules[a.path],
        resolveDir: PAGE,
        loader: 'js',
      }));
      bundleWebgpu(b, k);
      b.onResolve({ filter: /^python:/ }, (a) =>
        py[a.path]
          ? { path: `/${PY_NAMES[a.path]}`, namespace: 'python', pluginData: a.path }
          : { errors: [{ text: `${a.path}: no such python backend file in this build` }] },
      );
      b.onLoad({ filter: /.*/, namespace: 'python' }, (a) => py[a.pluginData]);
      engineLoaders(b);
    },
  };
}

/**
 * The engines' JS loaders as a page or the gallery bundles them: @mujoco/mujoco's with its Embind stubs built
 * without new Function (the CSP keeps 'unsafe-eval' out), and the Node built-ins it imports on its Node-only
 * path left as imports, never run in a browser.
 */
export function engineLoaders(b) {
  b.onLoad({ filter: /[\\/]@mujoco[\\/]mujoco[\\/]mujoco\.js$/ }, (a) =>
    isLoader(a.path) ? { ...loaderWithoutEval(), loader: 'js' } : undefined,
  );
  b.onResolve({ filter: /^(node:)?(module|fs|path|url|crypto)$/ }, (a) =>
    a.importer.includes(`${path.sep}node_modules${path.sep}@mujoco${path.sep}`)
      ? { path: a.path, external: true }
      : undefined,
  );
}

/**
 * esbuild one entry set into memory: {files: Map(name -> bytes), entry(name), closure(name), metafile}, where
 * closure(name) is the entry's output with every chunk it imports statically (what loads before it runs), and
 * metafile esbuild's (which module put how many bytes into which output: web/build/weigh.mjs prints it).
 */
export async function esbuildInto(entryPoints, plugin, single) {
  const result = await esbuild
    .build({
      entryPoints,
      absWorkingDir: ROOT,
      bundle: true,
      format: 'esm',
      splitting: !single,
      minify: true,
      target: ['es2022'],
      outdir: '/virtual/assets',
      entryNames: '[name]-[hash]',
      chunkNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      loader: { '.wasm': 'file', '.py': 'text', '.bin': 'file' },
      write: false,
      metafile: true,
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
      plugins: [plugin],
    })
    .catch((e) => {
      const first = e.errors?.[0],
        where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
      fail(
        `esbuild failed${e.errors?.length > 1 ? ` (${e.errors.length} errors)` : ''}: ` +
          (first ? `${where}${first.text}` : e.message.replace(/\s+/g, ' ')),
      );
    });
  if (result.warnings.length) {
    const msgs = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    fail(`esbuild warnings (the build must be warning-free): ${msgs.join(' ').replace(/\s+/g, ' ')}`);
  }
  const files = new Map(result.outputFiles.map((f) => [path.basename(f.path), Buffer.from(f.contents)]));
  const outputs = new Map(Object.entries(result.metafile.outputs).map(([p, o]) => [path.basename(p), o]));
  // the output of entryPoints[name] (metafile paths are relative to absWorkingDir)
  const entry = (name) =>
    [...outputs].find(
      ([, o]) => o.entryPoint && path.resolve(ROOT, o.entryPoint) === path.resolve(entryPoints[name]),
    )?.[0] ?? fail(`internal: esbuild wrote no output for the entry ${name}`);
  const closure = (name) => {
    const seen = new Set([name]);
    for (const f of seen) {
      for (const imp of outputs.get(f)?.imports ?? []) {
        if (imp.kind === 'import-statement') seen.add(path.basename(imp.path));
      }
    }
    return [...seen];
  };
  return { files, entry, closure, metafile: result.metafile };
}
