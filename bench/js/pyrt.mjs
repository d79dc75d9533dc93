// The pure-Python policy (rl_web_agent/runtime_py/mlp.py) inside a WebAssembly Python, timed the way the page uses
// it: the module imported from the runtime's file system, then forward() called from JS per observation.
import { OPTS } from './measure.mjs';

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// rt: a loaded MicroPython or Pyodide (both have FS, globals, runPython).
// isPyodide: Pyodide hands back proxies that must be destroyed; MicroPython's are garbage collected.
export function measurePython(rt, src, weightsText, io, quick, isPyodide = false) {
  const opts = quick ? OPTS.quick : OPTS.full;
  rt.FS.writeFile('/bench_ref_policy.py', src);
  rt.globals.set('W_TEXT', weightsText);
  rt.globals.set('OBS_TEXT', JSON.stringify(io.obs.slice(0, 256)));
  rt.runPython(
    [
      'import sys, json',
      "if '/' not in sys.path: sys.path.append('/')",
      'import bench_ref_policy',
      'P = bench_ref_policy.Policy(json.loads(W_TEXT))',
      'OBSL = json.loads(OBS_TEXT)',
      'def loop(n):',
      '    k = len(OBSL)',
      '    for i in range(n):',
      '        P.forward(OBSL[i % k])',
      'FWD = P.forward',
      'LOOP = loop',
      'RES = json.dumps([P.forward(o) for o in OBSL[:64]])',
    ].join('\n'),
  );
  const got = JSON.parse(String(rt.globals.get('RES')));
  let maxErr = 0;
  got.forEach((y, i) => {
    y.forEach((v, j) => {
      const r = io.ref[i][j];
      maxErr = Math.max(maxErr, Math.abs(v - r) / Math.max(1, Math.abs(r)));
    });
  });
  const fwd = rt.globals.get('FWD');
  const loop = rt.globals.get('LOOP');
  const obs = io.obs.map((o) => Array.from(o));
  // Warm up and calibrate on the JS -> Python call, the page's path.
  let t0 = now(),
    calls = 0;
  while (now() - t0 < opts.warmupMs || calls < 3) {
    fwd(obs[calls % obs.length]);
    calls++;
  }
  const inner = Math.max(1, Math.round(opts.repMs / ((now() - t0) / calls)));
  const call = [],
    inPy = [];
  for (let r = 0; r < opts.reps; r++) {
    let s = now();
    for (let i = 0; i < inner; i++) {
      const y = fwd(obs[i % obs.length]);
      if (isPyodide) y.destroy();
    }
    call.push((now() - s) / inner);
    s = now();
    loop(inner);
    inPy.push((now() - s) / inner);
  }
  return {
    single_us: median(call) * 1000,
    in_python_us: median(inPy) * 1000,
    max_err: maxErr,
    inner,
    reps: opts.reps,
  };
}
