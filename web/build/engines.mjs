// The engines a page can ship, by spec.engine (docs/design.md, "An environment"): where each one's wasm comes
// from, the data file an env gives it (its engine data, if the engine takes any) and the page's byte budget
// with it. The page core knows none of them: a page gets its env's engine as 'engine.wasm' and that env's
// engine data as 'engine.data' (each content-hashed, preloaded, fetched with its SRI integrity).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sha256b64 } from './html.mjs';
import { fail } from './kernel.mjs';
import { engineWasm as mujocoWasm } from './mujoco_engine.mjs';
import { ROOT } from './paths.mjs';

const BUILT = path.join(ROOT, 'build', 'engines'); // what `make engines` builds here (zig)

/** The engines `make engines` builds here (zig): where each lands, what it must export (the page's loader
 * calls these) and the imports its loader provides ({module: [names]}; none for Box2D). */
export const BUILT_ENGINES = {
  // Box2D 2.3.10 from third_party/box2d and engines/box2d/api.cpp
  box2d: {
    file: path.join(BUILT, 'box2d.wasm'),
    what: 'Box2D',
    exports: ['memory', 'world_new', 'world_step', 'body_new', 'body_read', 'fixture_polygon'],
    imports: {},
  },
  // ALE: ale-py's C++ and engines/ale/api.cpp (engines/ale/build.py); a WASI reactor whose few WASI calls
  // web/page/envs/atari/engine.js answers
  ale: {
    file: path.join(BUILT, 'ale.wasm'),
    what: 'ALE',
    exports: [
      'memory',
      '_initialize',
      'mem_alloc',
      'mem_free',
      'ale_rom_buffer',
      'ale_new',
      'ale_delete',
      'ale_set_int',
      'ale_set_float',
      'ale_set_bool',
      'ale_load_rom',
      'ale_reset',
      'ale_act',
      'ale_game_over',
      'ale_truncated',
      'ale_lives',
      'ale_frame',
      'ale_actions',
      'ale_screen_width',
      'ale_screen_height',
      'ale_screen_rgb',
      'ale_screen_gray',
      'ale_ram',
      'ale_set_ram',
    ],
    imports: {
      wasi_snapshot_preview1: [
        'fd_write',
        'proc_exit',
        'environ_sizes_get',
        'environ_get',
        'clock_time_get',
        'fd_close',
        'fd_fdstat_get',
        'fd_read',
        'fd_seek',
      ],
    },
  },
};

/**
 * The bytes of an engine `make engines` built ({file, what, exports, imports}: BUILT_ENGINES' entries), once
 * it is a WebAssembly module with every one of its exports and no import outside its imports; else a one-line
 * error naming `make engines`.
 */
export function builtWasm({ file, what, exports, imports }) {
  if (!fs.existsSync(file)) fail(`${file} is missing: run \`make engines\` (${what}, built by zig)`);
  const bytes = fs.readFileSync(file);
  let mod;
  try {
    mod = new WebAssembly.Module(bytes);
  } catch (err) {
    fail(`${file} is not a WebAssembly module (${err.message}): rebuild it with \`make engines\``);
  }
  const names = WebAssembly.Module.exports(mod).map((e) => e.name);
  const missing = exports.filter((n) => !names.includes(n));
  if (missing.length) fail(`${file} lacks ${missing.join(', ')}: an older build; run \`make engines\``);
  const extra = WebAssembly.Module.imports(mod)
    .filter((i) => !imports[i.module]?.includes(i.name))
    .map((i) => `${i.module}.${i.name}`);
  if (extra.length) {
    fail(`${file} imports ${extra.join(', ')}, which its page does not provide: run \`make engines\``);
  }
  return bytes;
}

/**
 * The folder of the ROMs the installed ale-py ships (ale_py/roms/, with its md5.json) in the repository's
 * .venv, found without running Python (lib/python3.*\/site-packages, or Lib/site-packages on Windows); the
 * ale-py version from its dist-info. A one-line error when ale-py is not there.
 */
export function alePyRoms(venv = path.join(ROOT, '.venv')) {
  const lib = path.join(venv, 'lib');
  const sites = [
    ...(fs.existsSync(lib) ? fs.readdirSync(lib).filter((d) => /^python3/.test(d)) : [])
      .sort()
      .map((d) => path.join(lib, d, 'site-packages')),
    path.join(venv, 'Lib', 'site-packages'),
  ];
  const site = sites.find((s) => fs.existsSync(path.join(s, 'ale_py', 'roms', 'md5.json')));
  if (!site)
    fail(`ale-py is not installed in ${venv} (an Atari page ships one of its ROMs): run \`make setup\``);
  const info = fs.readdirSync(site).find((d) => /^ale_py-.*\.dist-info$/.test(d));
  return { dir: path.join(site, 'ale_py', 'roms'), version: info?.slice(7, -10) ?? null };
}

/** An 'ale' env's engine data: the ROM spec.rom names (ale_py/roms/<rom>.bin), the bytes ale-py's md5.json
 * expects (the cartridge the policy was trained on). */
export function aleRom(spec, venv) {
  const rom = spec.rom;
  if (typeof rom !== 'string' || !/^[a-z0-9_]+$/.test(rom)) {
    fail(`${spec.id}: spec.rom must name an ale-py ROM (ale_py/roms/<rom>.bin), got ${JSON.stringify(rom)}`);
  }
  const { dir, version } = alePyRoms(venv);
  const file = path.join(dir, `${rom}.bin`);
  const md5 = JSON.parse(fs.readFileSync(path.join(dir, 'md5.json'), 'utf8'))[`${rom}.bin`];
  if (!md5) fail(`${spec.id}: spec.rom '${rom}' is no ROM of the installed ale-py (${dir}/md5.json)`);
  const reinstall = `reinstall ale-py: \`.venv/bin/pip install --force-reinstall --no-deps ale-py${version ? `==${version}` : ''}\``;
  if (!fs.existsSync(file)) fail(`${file} is missing (${spec.id}'s ROM): ${reinstall}`);
  const bytes = fs.readFileSync(file);
  const got = createHash('md5').update(bytes).digest('hex');
  if (got !== md5) fail(`${file} is not the ROM ale-py expects (md5 ${got}, md5.json ${md5}): ${reinstall}`);
  return bytes;
}

export const ENGINES = {
  // the official build's wasm (@mujoco/mujoco), stripped of debug and name sections: ~1.27 MB gzipped; with
  // HalfCheetah's 256x256 actor (282 KB gz) its page is 1,554 KB
  mujoco: { wasm: mujocoWasm, budgetGz: 1600 * 1024 },
  // Box2D 2.3.10 and its C API: ~42 KB gzipped; the page with kernel and app stays under 100 KB
  box2d: { wasm: () => builtWasm(BUILT_ENGINES.box2d), budgetGz: 100 * 1024 },
  // ALE 0.12.1: ~240 KB gzipped, and the game's ROM (ale-py's, read at build time: 2 KB for Pong and Breakout,
  // 4 KB for Space Invaders; README, "Atari ROMs") as the engine data; the issue's budget for an Atari page
  // with an int8 NatureCNN policy (~1.5 MB gzipped: Pong's page is ~1.75 MB)
  ale: {
    wasm: () => builtWasm(BUILT_ENGINES.ale),
    data: (spec) => aleRom(spec),
    budgetGz: 2500 * 1024,
    // ALE is GPL-2.0: a page that ships it offers its source (README, "Atari ROMs and ALE's licence")
    notice: {
      text: 'The Atari emulator is the Arcade Learning Environment 0.12.1 (GPL-2.0), compiled to WebAssembly; its source:',
      links: [
        ['ale-py 0.12.1 on PyPI', 'https://pypi.org/project/ale-py/0.12.1/#files'],
        [
          'Farama-Foundation/Arcade-Learning-Environment',
          'https://github.com/Farama-Foundation/Arcade-Learning-Environment',
        ],
      ],
    },
  },
};

const known = (name) => {
  if (!Object.hasOwn(ENGINES, name)) {
    fail(`spec.engine '${name}' is no engine the build knows: one of ${Object.keys(ENGINES).join(', ')}`);
  }
  return ENGINES[name];
};

const cache = new Map();
/** The licence notice a page with this engine shows ({text, links: [[label, url]]}), or null. */
export const engineNotice = (name) => (name && ENGINES[name]?.notice) || null;

/** The engine named by an env's spec.engine: {bytes, integrity (SRI), budgetGz}; a one-line error otherwise. */
export function engineFor(name) {
  const engine = known(name);
  if (!cache.has(name)) {
    const bytes = engine.wasm();
    cache.set(name, { bytes, integrity: sha256b64(bytes), budgetGz: engine.budgetGz });
  }
  return cache.get(name);
}

/**
 * The engine data of an env (spec) on engine `name`: {bytes, integrity (SRI)}, the one file the env's load()
 * gets beside the engine (the page's 'engine.data'), or null for an engine that takes none; a one-line error
 * when the engine's data for this spec is missing.
 */
export function engineData(name, spec) {
  const engine = known(name);
  if (!engine.data) return null;
  const bytes = engine.data(spec);
  return { bytes, integrity: sha256b64(bytes) };
}
