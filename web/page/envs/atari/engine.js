// The Atari engine: the Arcade Learning Environment 0.12.1 (ale-py's C++ from the pinned PyPI sources) and its
// C API (engines/ale/api.cpp) compiled to wasm by `make engines` (build/engines/ale.wasm), loaded once per page.
// The game's ROM comes with it (the build takes it from the installed ale-py: README, "Atari ROMs"). Pages pass
// where the build put both (URLs with the integrity the build recorded, or inline bytes); Node (the tests)
// reads the built engine and the installed ale-py's ROM folder.

let engine = null,
  loading = null;

// The engine is a WASI reactor: ALE's C++ runtime imports a few WASI calls (its logger writes to stderr; the
// C library asks for the environment and the clock). The page has no files or environment: writes go to the
// console, everything else answers "no such thing".
const EBADF = 8;
function wasi(memory) {
  const dv = () => new DataView(memory().buffer);
  return {
    fd_write(_fd, iovs, n, written) {
      const v = dv();
      let text = '',
        total = 0;
      for (let i = 0; i < n; i++) {
        const ptr = v.getUint32(iovs + 8 * i, true),
          len = v.getUint32(iovs + 8 * i + 4, true);
        text += new TextDecoder().decode(new Uint8Array(memory().buffer, ptr, len));
        total += len;
      }
      if (text.trim()) console.warn(`ALE: ${text.trim()}`);
      v.setUint32(written, total, true);
      return 0;
    },
    proc_exit(code) {
      throw new Error(`ALE stopped (exit ${code}): a setting or ROM it refused`);
    },
    environ_sizes_get(count, size) {
      dv().setUint32(count, 0, true);
      dv().setUint32(size, 0, true);
      return 0;
    },
    environ_get: () => 0,
    clock_time_get(_id, _precision, out) {
      dv().setBigUint64(out, BigInt(Math.round(performance.now() * 1e6)), true);
      return 0;
    },
    fd_close: () => EBADF,
    fd_fdstat_get: () => EBADF,
    fd_read: () => EBADF,
    fd_seek: () => EBADF,
  };
}

/** A file of the repository's build or of the installed ale-py, where Node finds it. */
function nodeFile(url, missing) {
  const fs = globalThis.process?.getBuiltinModule?.('node:fs');
  if (!fs?.existsSync(url)) throw new Error(missing);
  return fs.readFileSync(url);
}
const builtEngine = () =>
  nodeFile(
    new URL('../../../../build/engines/ale.wasm', import.meta.url),
    'build/engines/ale.wasm is missing: run `make engines` (ALE compiled by zig)',
  );

/** One emulator (ale-py's ALEInterface): settings by name, then loadRom(), then act() frame by frame. */
class Ale {
  constructor(e, rom, romName) {
    Object.assign(this, { e, rom, romName });
    this.ptr = e.ale_new();
    this.width = 0;
    this.height = 0;
  }

  #str(s) {
    const bytes = new TextEncoder().encode(`${s}\0`);
    const p = this.e.mem_alloc(bytes.length);
    new Uint8Array(this.e.memory.buffer, p, bytes.length).set(bytes);
    return p;
  }

  #set(fn, key, v) {
    const k = this.#str(key);
    try {
      fn(this.ptr, k, v);
    } finally {
      this.e.mem_free(k);
    }
  }

  setInt(key, v) {
    this.#set(this.e.ale_set_int, key, v);
  }
  setFloat(key, v) {
    this.#set(this.e.ale_set_float, key, v);
  }
  setBool(key, v) {
    this.#set(this.e.ale_set_bool, key, v ? 1 : 0);
  }

  /** ale-py's loadROM: the console, the game's settings and a reset game, with the current settings. */
  loadRom() {
    const { e, rom } = this;
    const name = this.#str(this.romName);
    const p = e.ale_rom_buffer(rom.length, name);
    e.mem_free(name);
    new Uint8Array(e.memory.buffer, p, rom.length).set(rom);
    e.ale_load_rom(this.ptr);
    this.width = e.ale_screen_width(this.ptr);
    this.height = e.ale_screen_height(this.ptr);
  }

  reset() {
    this.e.ale_reset(this.ptr);
  }
  /** One emulated frame of ALE action id `a`; its reward. */
  act(a, strength = 1.0) {
    return this.e.ale_act(this.ptr, a, strength);
  }
  gameOver(withTruncation = true) {
    return this.e.ale_game_over(this.ptr, withTruncation ? 1 : 0) !== 0;
  }
  truncated() {
    return this.e.ale_truncated(this.ptr) !== 0;
  }
  lives() {
    return this.e.ale_lives(this.ptr);
  }
  /** The episode's frame number. */
  frame() {
    return this.e.ale_frame(this.ptr);
  }
  /** The minimal action set (ale-py's default action space) or the full one, as ALE action ids. */
  actions(full = false) {
    const p = this.e.mem_alloc(18 * 4);
    const n = this.e.ale_actions(this.ptr, full ? 1 : 0, p);
    const out = Array.from(new Int32Array(this.e.memory.buffer, p, n));
    this.e.mem_free(p);
    return out;
  }

  /** The 128 bytes of RAM into out (any array of 128 numbers). */
  ram(out) {
    const buf = this.#scratch();
    this.e.ale_ram(this.ptr, buf);
    const r = new Uint8Array(this.e.memory.buffer, buf, 128);
    for (let i = 0; i < 128; i++) out[i] = r[i];
    return out;
  }
  /** Write the RAM from 128 numbers (each a byte: 0..255, else an error naming it). */
  setRam(values) {
    if (values.length !== 128) throw new Error(`the Atari RAM has 128 bytes, got ${values.length} values`);
    values.forEach((v, i) => {
      if (!(Number.isInteger(v) && v >= 0 && v <= 255))
        throw new Error(`RAM byte ${i} must be an integer 0..255, got ${v}`);
    });
    for (const [i, v] of values.entries()) this.e.ale_set_ram(this.ptr, i, v);
  }
  /** Free the emulator (the page's pagehide). */
  close() {
    if (this.buf) this.e.mem_free(this.buf);
    this.buf = 0;
    this.e.ale_delete(this.ptr);
    this.ptr = 0;
  }

  // one buffer in the engine's memory that screens and the RAM are copied out through (an RGB screen's size)
  #scratch() {
    this.buf ||= this.e.mem_alloc(this.width * this.height * 3);
    return this.buf;
  }
  #screen(fn, channels, out) {
    const buf = this.#scratch();
    fn(this.ptr, buf);
    out.set(new Uint8Array(this.e.memory.buffer, buf, this.width * this.height * channels));
    return out;
  }
  /** getScreenRGB: height x width x 3 bytes. */
  screenRGB(out = new Uint8Array(this.width * this.height * 3)) {
    return this.#screen(this.e.ale_screen_rgb, 3, out);
  }
  /** getScreenGrayscale: height x width bytes (the palette's luma). */
  screenGray(out = new Uint8Array(this.width * this.height)) {
    return this.#screen(this.e.ale_screen_gray, 1, out);
  }
}

/**
 * Load the engine once: source = {url, integrity?} (compiled while it downloads) or {bytes} (inline) or nothing
 * (Node: build/engines/ale.wasm). Resolves to {create(rom, romName)}: a new emulator for that cartridge.
 */
export function loadEngine(source) {
  if (engine) return Promise.resolve(engine);
  if (loading) return loading;
  let memory = null;
  const imports = { wasi_snapshot_preview1: wasi(() => memory) };
  const made = source?.url
    ? WebAssembly.instantiateStreaming(
        fetch(source.url, source.integrity ? { integrity: source.integrity } : {}),
        imports,
      )
    : WebAssembly.instantiate(source?.bytes ?? builtEngine(), imports);
  loading = made.then(
    (r) => {
      const e = r.instance.exports;
      memory = e.memory;
      e._initialize?.();
      engine = { exports: e, create: (rom, romName) => new Ale(e, rom, romName) };
      return engine;
    },
    (err) => {
      loading = null;
      throw new Error(`the Atari engine did not load: ${err?.message ?? err}`);
    },
  );
  return loading;
}

/** The loaded engine; an error naming the fix when load() was not awaited first. */
export function ale() {
  if (!engine)
    throw new Error("the Atari engine is not loaded: await load() (the env module's) before making an env");
  return engine;
}
