// What-if physics, the lazy half (core/whatif.js loads it on first use): a slider per physical constant of the
// env (spec.constants), a reset to Gymnasium's values, and the robustness sweep (lazy/sweep.js) drawn as mean
// return against one constant's value, Gymnasium's (the trained) value marked.
// New physics is a new Env (derived constants computed by its constructor, as Gymnasium's __init__) that
// continues from the current state: the episode goes on under the new physics and is marked as what-if.
import { linspace, runSweep } from './sweep.js';

const SWEEP_VALUES = 20,
  SWEEP_EPISODES = 256,
  MAX_EPISODES = 4096,
  MAX_VALUES = 200;
const SLICE_MS = 8; // the sweep yields to the event loop after this long: frames and input keep flowing

// The values a sweep from a to b takes: SWEEP_VALUES evenly spaced, or for a constant with a `step` (a switch
// such as hardcore: 0 or 1) each multiple of it in the range, at most SWEEP_VALUES of them.
export function sweepValues(c, a = c.min, b = c.max) {
  if (!c.step) return linspace(a, b, SWEEP_VALUES);
  const lo = Math.ceil(Math.min(a, b) / c.step),
    hi = Math.floor(Math.max(a, b) / c.step),
    n = Math.max(1, Math.min(SWEEP_VALUES, hi - lo + 1));
  return Array.from({ length: n }, (_, i) => Math.round(lo + ((hi - lo) * i) / Math.max(1, n - 1)) * c.step);
}

const num = (x) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : '–');
// A macrotask boundary, so that frames and input run before the sweep goes on. A message, not setTimeout
// (clamped to 4 ms when nested: a third of the sweep's time) nor scheduler.yield (its continuation goes
// before rendering: about 10 frames a second in Chromium 156, against 60 with a message).
const channel = new MessageChannel(),
  waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldTask = () =>
  new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });

/** Build the panel (if the page has one) and return {setPhysics, sweep} over the page's pieces `ctx`. */
export function init(ctx) {
  const { spec, Env, S } = ctx;
  const names = Object.keys(spec.constants ?? {});
  let ui = null; // the panel, where the page has one (built below, once these functions exist)

  function setPhysics(given) {
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      throw new Error(`setPhysics takes an object of constants by name, e.g. {${names[0] ?? 'name'}: 1.5}`);
    }
    if (!names.length) {
      if (Object.keys(given).length) {
        throw new Error(`${spec.id} has no physical constants to change (its physics is its engine's model)`);
      }
      return {};
    }
    const old = ctx.env();
    const next = new Env({ ...old.constants, ...given }); // checks names and values (envs/base.js)
    next.reset({ state: old.state });
    if (old.steps) {
      // mid-episode: the state as a step left it, and the time limit's count goes on
      next.setState(old.state);
      next.steps = old.steps;
    }
    old.close?.();
    ctx.swapEnv(next);
    S.whatIf ||= ctx.whatIf();
    ui?.show(next.constants);
    return { ...next.constants };
  }

  let running = false;
  async function sweep({ param, values, episodes = SWEEP_EPISODES } = {}) {
    if (!names.length) throw new Error(`${spec.id} has no physical constants to sweep`);
    if (!names.includes(param)) {
      throw new Error(`sweep: param must be one of ${names.join(', ')}, got ${JSON.stringify(param)}`);
    }
    const c = spec.constants[param];
    values ??= sweepValues(c);
    if (
      !Array.isArray(values) ||
      !values.length ||
      values.length > MAX_VALUES ||
      !values.every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      throw new Error(`sweep: values must be 1 to ${MAX_VALUES} finite numbers, e.g. [0.5, 1, 2]`);
    }
    if (!Number.isInteger(episodes) || episodes < 1 || episodes > MAX_EPISODES) {
      throw new Error(`sweep: episodes must be an integer from 1 to ${MAX_EPISODES}, got ${episodes}`);
    }
    const policy = S.policy;
    if (!policy?.forwardBatch) {
      throw new Error(
        policy
          ? `sweep: the ${S.backend} backend has no batched kernel: switch to wasm or webgpu`
          : 'sweep: the policy is still loading: try again once window.app.status().backend is set',
      );
    }
    if (running) throw new Error('sweep: a sweep is already running: await it first');
    running = true;
    const t0 = performance.now();
    let since = t0,
      longest = 0;
    const pause = async () => {
      const now = performance.now();
      if (now - since < SLICE_MS) return;
      longest = Math.max(longest, now - since);
      await yieldTask();
      since = performance.now();
    };
    const rows = [];
    ui?.start(param, values, episodes);
    try {
      await runSweep({
        Env,
        spec,
        constants: { ...ctx.env().constants },
        param,
        values,
        pause,
        // the page's own episodes 1..N: their seeded initial states, the same at every value
        seeds: Array.from({ length: episodes }, (_, i) => ctx.episodeSeed(i + 1)),
        batch: { size: policy.batchSize, forward: policy.forwardBatch },
        outputs: ctx.outputs,
        onValue: (row) => {
          rows.push(row);
          ui?.plot(param, values, rows);
        },
      });
    } catch (err) {
      // e.g. the WebGPU device lost: said in the panel too
      ui?.done(`the sweep stopped: ${err?.message || err}`);
      throw err;
    } finally {
      running = false;
    }
    const s = ((performance.now() - t0) / 1000).toFixed(1),
      slice = Math.round(longest);
    ui?.done(
      `${values.length} values × ${episodes} episodes in ${s} s (${policy.backend}; it held the page ` +
        `at most ${slice} ms at a time)`,
    );
    return rows;
  }
  const api = { setPhysics, sweep };
  ui = buildPanel(ctx, names, api);
  ui?.show(ctx.env().constants); // the constants in force (a shared link's ?physics=), not only Gymnasium's
  return api;
}

// ---- the panel ----

function buildPanel(ctx, names, api) {
  const { spec, $, el } = ctx;
  const body = $('physics-body');
  if (!body || !names.length) return null;
  body.textContent = '';
  const grid = el('div', { className: 'probs' });
  grid.style.marginTop = '8px';
  const rows = {};
  for (const name of names) {
    const c = spec.constants[name];
    const input = el('input', {
      type: 'range',
      min: String(c.min),
      max: String(c.max),
      step: String(c.step ?? 'any'),
      value: String(c.value),
      title: `${c.label}: Gymnasium's value is ${c.value}`,
      ariaLabel: c.label ?? name,
    });
    const out = el('output', { textContent: num(c.value) });
    input.oninput = () => apply({ [name]: Number(input.value) });
    grid.append(el('span', { textContent: c.label ?? name }), input, out);
    rows[name] = { input, out };
  }
  const note = el('span', { role: 'status' });
  const reset = el('button', {
    type: 'button',
    textContent: "Gymnasium's values",
    title: 'Reset every constant to the value the agent was trained with',
  });
  reset.onclick = () => apply(Object.fromEntries(names.map((n) => [n, spec.constants[n].value])));
  function apply(given) {
    try {
      api.setPhysics(given);
      note.textContent = '';
    } catch (err) {
      note.textContent = err.message;
    }
  }

  // the sweep's controls: which constant, over which range
  const pick = el(
    'select',
    { title: 'The constant to sweep', ariaLabel: 'the constant to sweep' },
    ...names.map((n) => el('option', { value: n, textContent: spec.constants[n].label ?? n })),
  );
  const lo = el('input', { type: 'number', step: 'any', title: 'From', ariaLabel: 'sweep from' });
  const hi = el('input', { type: 'number', step: 'any', title: 'To', ariaLabel: 'sweep to' });
  lo.style.width = hi.style.width = '6em';
  const range = () => {
    const c = spec.constants[pick.value];
    lo.value = String(c.min);
    hi.value = String(c.max);
    lo.step = hi.step = String(c.step ?? 'any');
  };
  pick.onchange = range;
  range();
  const run = el('button', {
    type: 'button',
    textContent: 'Run sweep',
    title: `${SWEEP_EPISODES} episodes at each of ${SWEEP_VALUES} values, played by the batched kernel`,
  });
  const status = el('p', { role: 'status' });
  const plot = el('canvas', { role: 'img', ariaLabel: 'Mean return against the swept constant' });
  plot.style.cssText = 'width:100%;height:180px;display:block';
  run.onclick = () => {
    const a = Number(lo.value),
      b = Number(hi.value);
    api.sweep({ param: pick.value, values: sweepValues(spec.constants[pick.value], a, b) }).catch((err) => {
      status.textContent = err.message;
    });
  };
  body.append(
    grid,
    el('p', {}, reset, ' ', note),
    el('h3', { textContent: 'Robustness sweep' }),
    el('p', {
      textContent:
        `Mean return of ${SWEEP_EPISODES} greedy episodes (the page's own start states) at ` +
        `each of ${SWEEP_VALUES} values of one constant, the others as set above.`,
    }),
    el('div', { className: 'bar' }, pick, ' from ', lo, ' to ', hi, run),
    plot,
    status,
  );

  return {
    show(constants) {
      for (const name of names) {
        const v = constants[name],
          r = rows[name];
        if (Number(r.input.value) !== v) r.input.value = String(v);
        r.out.textContent = num(v);
        r.out.style.fontWeight = v === spec.constants[name].value ? '' : '700'; // changed: bold
      }
    },
    start(param, values, episodes) {
      pick.value = param;
      lo.value = String(Math.min(...values));
      hi.value = String(Math.max(...values));
      run.disabled = true;
      status.textContent = `running ${values.length} values × ${episodes} episodes…`;
      draw(plot, spec, param, values, []);
    },
    plot(param, values, rows) {
      draw(plot, spec, param, values, rows);
    },
    done(text) {
      run.disabled = false;
      status.textContent = text;
    },
  };
}

/** Mean return against the value (the rows so far), Gymnasium's value marked by a dashed line. */
function draw(canvas, spec, param, values, rows) {
  const dpr = globalThis.devicePixelRatio || 1,
    r = canvas.getBoundingClientRect();
  canvas.width = Math.max(1, Math.round(r.width * dpr));
  canvas.height = Math.max(1, Math.round(r.height * dpr));
  const g = canvas.getContext('2d'),
    w = r.width,
    h = r.height,
    L = 48,
    R = 10,
    T = 18,
    B = 30;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = g.strokeStyle = '#5c5c66';
  const trained = spec.constants[param].value;
  const x0 = Math.min(...values),
    x1 = Math.max(...values),
    xs = x1 - x0 || 1;
  const ys = rows.map((row) => row.meanReturn);
  let y0 = Math.min(...ys, Number.isFinite(spec.solved) ? spec.solved : Infinity);
  let y1 = Math.max(...ys, Number.isFinite(spec.solved) ? spec.solved : -Infinity);
  if (!Number.isFinite(y0)) {
    y0 = 0;
    y1 = 1;
  }
  if (y1 - y0 < 1e-9) {
    y0 -= 1;
    y1 += 1;
  }
  const X = (v) => L + ((v - x0) / xs) * (w - L - R),
    Y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (h - T - B);
  g.beginPath();
  g.moveTo(L, T);
  g.lineTo(L, h - B);
  g.lineTo(w - R, h - B);
  g.stroke();
  g.textAlign = 'right';
  g.fillText(num(y1), L - 4, T + 8);
  g.fillText(num(y0), L - 4, h - B);
  g.textAlign = 'left';
  g.fillText(num(x0), L, h - B + 14);
  g.textAlign = 'right';
  g.fillText(num(x1), w - R, h - B + 14);
  g.textAlign = 'center';
  g.fillText(`${spec.constants[param].label ?? param} · mean return`, (L + w - R) / 2, h - 4);
  if (trained >= x0 && trained <= x1) {
    // Gymnasium's value: what the agent was trained with
    g.setLineDash([4, 3]);
    g.strokeStyle = '#1d7a35';
    g.beginPath();
    g.moveTo(X(trained), T);
    g.lineTo(X(trained), h - B);
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = '#1d7a35';
    g.fillText(`trained (${num(trained)})`, X(trained), T - 6);
  }
  g.strokeStyle = g.fillStyle = '#3565a8';
  g.lineWidth = 2;
  g.beginPath();
  rows.forEach((row, i) => {
    (i ? g.lineTo : g.moveTo).call(g, X(row.value), Y(row.meanReturn));
  });
  g.stroke();
  for (const row of rows) {
    g.beginPath();
    g.arc(X(row.value), Y(row.meanReturn), 2.5, 0, 2 * Math.PI);
    g.fill();
  }
}
