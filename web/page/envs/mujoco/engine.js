// The MuJoCo engine: the official WebAssembly build (@mujoco/mujoco, single-threaded: no COOP/COEP needed),
// loaded once per page and shared by every MuJoCo env and renderer in it. Pages pass where the build put the
// engine (its bytes stripped of debug and name sections, see web/build/mujoco_engine.mjs); Node (the tests) loads
// the package's own file.
import loadMujoco from '@mujoco/mujoco';

let engine = null,
  loading = null;

/**
 * Load the engine once: source = {url, integrity?} (compiled while it downloads: instantiateStreaming;
 * integrity: the build's SRI hash, which fetch checks), {bytes} (an
 * inlined copy) or nothing (the package's mujoco.wasm, as Node finds it). Resolves to the engine module.
 */
export function loadEngine(source) {
  if (engine) return Promise.resolve(engine);
  if (loading) return loading;
  let failed;
  const failure = new Promise((_, reject) => {
    failed = reject;
  });
  const opts = {};
  if (source?.url || source?.bytes) {
    // Emscripten calls this instead of fetching and compiling itself; a failure must reject, not hang.
    opts.instantiateWasm = (imports, done) => {
      const p = source.bytes
        ? WebAssembly.instantiate(source.bytes, imports)
        : WebAssembly.instantiateStreaming(
            fetch(source.url, source.integrity ? { integrity: source.integrity } : {}),
            imports,
          );
      p.then(
        (r) => done(r.instance, r.module),
        (e) => failed(new Error(`MuJoCo engine did not load: ${e.message ?? e}`)),
      );
      return {};
    };
  }
  loading = Promise.race([loadMujoco(opts), failure]).then(
    (m) => (engine = m),
    (e) => {
      loading = null; // a later call may retry (e.g. after a network error)
      throw e;
    },
  );
  return loading;
}

/** The loaded engine; an error naming the fix when load() was not awaited first. */
export function mj() {
  if (!engine)
    throw new Error(
      "the MuJoCo engine is not loaded: await load() (the env module's) before constructing an env",
    );
  return engine;
}

const models = new Map(); // XML text -> MjModel: one compiled model per env type, shared by its instances

/** The compiled model of an XML text (compiled once per page: models are read-only while stepping). */
export function model(xml) {
  let m = models.get(xml);
  if (!m) {
    m = mj().MjModel.from_xml_string(xml);
    models.set(xml, m);
  }
  return m;
}

/** Bytes of the engine's WebAssembly memory now (grows only when MuJoCo allocates: a leak shows here). */
export function engineBytes() {
  const m = models.values().next().value;
  return m ? m.geom_size.buffer.byteLength : 0; // any live view's buffer is the whole memory
}
