// The Box2D engine: Box2D 2.3.10 (pybox2d's sources, third_party/box2d/) and its C API (engines/box2d/api.cpp)
// compiled to wasm by `make engines` (build/engines/box2d.wasm), loaded once per page and shared by every
// Box2D env in it. Pages pass where the build put the engine (its URL, with the integrity the build
// recorded, or inline bytes); Node (the tests) reads the built file.

let engine = null,
  loading = null;

// The engine imports nothing (no WASI: the Makefile links no printf, clock or C++ runtime into it), so it
// instantiates with an empty import object; `_initialize` runs its static constructors.

/** The built engine file, where Node finds it (the repository's build folder). */
function builtEngine() {
  const fs = globalThis.process?.getBuiltinModule?.('node:fs');
  const url = new URL('../../../../build/engines/box2d.wasm', import.meta.url);
  if (!fs?.existsSync(url)) {
    throw new Error('build/engines/box2d.wasm is missing: run `make engines` (Box2D compiled by zig)');
  }
  return fs.readFileSync(url);
}

/** The engine's API over its exports: pointers are numbers; reads go through one scratch buffer. */
function wrap(instance) {
  const e = instance.exports;
  e._initialize?.();
  const scratch = e.mem_alloc(256);
  const f32 = () => new Float32Array(e.memory.buffer, scratch, 8);
  const f64 = (n) => new Float64Array(e.memory.buffer, scratch, n);
  return {
    exports: e,
    memoryBytes: () => e.memory.buffer.byteLength,
    /** [x, y, angle, vx, vy, omega, sin, cos] of a body as float32 values (the transform's sin and cos). */
    read(body, out) {
      e.body_read(body, scratch);
      out.set(f32());
      return out;
    },
    /** b2PolygonShape::Set of vertices [[x, y], ...] on a body (at most 16: pybox2d's b2_maxPolygonVertices). */
    polygon(body, verts, density, friction, restitution, category, mask) {
      if (verts.length > 16) throw new Error(`a Box2D polygon has at most 16 vertices, got ${verts.length}`);
      const buf = f64(verts.length * 2);
      verts.forEach(([x, y], i) => {
        buf[2 * i] = x;
        buf[2 * i + 1] = y;
      });
      e.fixture_polygon(body, scratch, verts.length, density, friction, restitution, category, mask);
    },
    /** A ray cast from (x1, y1) to (x2, y2) seeing only fixtures of category: [fraction, x, y] of the hit. */
    raycast(world, x1, y1, x2, y2, category, out) {
      e.world_raycast(world, x1, y1, x2, y2, category, scratch);
      out.set(f32().subarray(0, 3));
      return out;
    },
  };
}

/**
 * Load the engine once: source = {url, integrity?} (compiled while it downloads; integrity: the build's
 * SRI hash, which fetch checks), {bytes} (an inlined copy) or nothing (Node: build/engines/box2d.wasm).
 * Resolves to the engine's API.
 */
export function loadEngine(source) {
  if (engine) return Promise.resolve(engine);
  if (loading) return loading;
  const imports = {};
  const made = source?.url
    ? WebAssembly.instantiateStreaming(
        fetch(source.url, source.integrity ? { integrity: source.integrity } : {}),
        imports,
      )
    : WebAssembly.instantiate(source?.bytes ?? builtEngine(), imports);
  loading = made.then(
    (r) => {
      engine = wrap(r.instance);
      return engine;
    },
    (err) => {
      loading = null; // a later call may retry (e.g. after a network error)
      throw new Error(`the Box2D engine did not load: ${err?.message ?? err}`);
    },
  );
  return loading;
}

/** The loaded engine; an error naming the fix when load() was not awaited first. */
export function box2d() {
  if (!engine)
    throw new Error(
      "the Box2D engine is not loaded: await load() (the env module's) before constructing an env",
    );
  return engine;
}
