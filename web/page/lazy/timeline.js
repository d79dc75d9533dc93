// The training timeline, the lazy half (core/timeline.js loads it): a slider "agent after N steps" over the
// policy's training snapshots (kernel.snapshots, from the build), each snapshot's kernel fetched only when it is
// chosen, and "side by side": two policies (two snapshots, or one and the final agent) on two canvases, started
// from the same state (the same seed) and pushed alike, with the returns of both. Everything from the page comes
// in `d` (core/timeline.js), so this chunk shares no code with the page's entry.

const fmt = (x) => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '–');
const CLICK_PX = 4; // a release this close to the press is a click: the renderer's default shove (as input.js)

/** Build the timeline's UI into the page and return its controller (window.app's snapshot hooks use it). */
export function mountTimeline(d) {
  const snaps = snapshots(d);
  const slider = mountSlider(d, snaps);
  const sides = mountSideBySide(d, snaps, slider);
  d.$('human-controls').after(slider.section);
  let last = 0;
  function frame(t) {
    requestAnimationFrame(frame);
    slider.follow();
    const dt = last ? Math.min(t - last, 100) : 0;
    last = t;
    sides.frame(t, dt);
  }
  requestAnimationFrame(frame);
  const { compare, stopCompare, compareStatus, pushBoth } = sides;
  return { useSnapshot: slider.useSnapshot, compare, stopCompare, compareStatus, pushBoth };
}

/** The snapshots (kernel.snapshots) and their policies: one wasm instance per snapshot, loaded on first use. */
function snapshots({ kernel, table, S, loadPolicy, baseUrl }) {
  const list = kernel.snapshots.map((s) => ({ ...s, ...table[s.id] })); // with their eval, kernel URLs
  const final = list.find((s) => s.final) ?? list[list.length - 1];
  const label = (s) =>
    s.steps === 0
      ? 'untrained (0 steps)'
      : `after ${s.steps.toLocaleString('en')} steps${s.final ? ' (final)' : ''}`;
  const find = (id) =>
    list.find((s) => s.id === String(id)) ??
    (() => {
      throw new Error(
        `no snapshot '${id}': window.app.snapshots() lists ${list.map((s) => s.id).join(', ')}`,
      );
    })();
  const currentId = () => S.policy?.snapshot ?? final.id;

  // The final snapshot's policy is the page's own kernel.
  const loaded = new Map();
  function policyOf(s) {
    if (!loaded.has(s.id)) {
      // a snapshot's own two modules: the page's lazy one reads the page's weights where they are in its module
      // (a convolutional kernel has no lazy half: no key at all, or the wasm backend would wait for one)
      const urls = {
        ...kernel.urls,
        'policy.wasm': s.url,
        ...(s.lazy ? { 'policy.lazy.wasm': s.lazy } : {}),
      };
      const manifest = s.final ? kernel : { ...kernel, urls };
      const p = loadPolicy(manifest, { backend: 'wasm', baseUrl }).then((policy) => {
        policy.snapshot = s.id;
        return policy;
      });
      p.catch(() => loaded.delete(s.id)); // a failed fetch may be retried
      loaded.set(s.id, p);
    }
    return loaded.get(s.id);
  }
  return { list, final, label, find, currentId, policyOf };
}

/**
 * The slider "agent after N steps": the timeline's section (the side-by-side box goes into it), the chosen
 * snapshot playing on the page, and each snapshot's mean return here. follow() runs once a frame.
 */
function mountSlider({ $, el, S, newEpisode, switchBackend }, snaps) {
  const { list, final, label, find, currentId, policyOf } = snaps;
  // The agent's finished episodes, counted for the snapshot that played them.
  const tally = new Map();
  let seen = S.agentReturns.length;
  function collect() {
    if (S.agentReturns.length < seen) seen = S.agentReturns.length;
    const t = tally.get(currentId()) ?? { sum: 0, n: 0 };
    for (; seen < S.agentReturns.length; seen++) {
      t.sum += S.agentReturns[seen];
      t.n++;
    }
    tally.set(currentId(), t);
  }

  const slider = el('input', {
    type: 'range',
    min: '0',
    max: String(list.length - 1),
    step: '1',
    value: String(list.indexOf(final)),
  });
  slider.setAttribute('aria-label', 'Training snapshot: the agent after N env steps');
  const ticks = el(
    'datalist',
    { id: 'timeline-ticks' },
    ...list.map((_s, i) => el('option', { value: String(i) })),
  );
  slider.setAttribute('list', ticks.id);
  const stepsOut = el('output', { id: 'timeline-steps' }),
    evalOut = el('output'),
    hereOut = el('output');
  const note = el('span', { role: 'status' });
  const section = el(
    'section',
    { className: 'panel full timeline' },
    el('h2', { textContent: 'Training timeline' }),
    el('label', {}, 'Agent ', stepsOut, ' ', slider, ticks),
    el('p', {}, 'Greedy return at training: ', evalOut, ' · here: ', hereOut, ' ', note),
  );
  section.setAttribute('aria-label', 'Training timeline');
  slider.style.width = '100%';

  function show(s) {
    stepsOut.textContent = label(s);
    evalOut.textContent = fmt(s.eval);
  }
  let want = 0,
    pending = 0; // the latest choice (an older one that loads later does not play); loads running
  /** Play snapshot `id` from a new episode; resolves to {id, steps} once it plays. */
  async function useSnapshot(id) {
    const s = find(id),
      token = ++want;
    collect();
    slider.value = String(list.indexOf(s));
    show(s);
    note.textContent = s.final ? '' : 'loading…';
    pending++;
    try {
      if (s.final)
        await switchBackend($('backend').value); // the page's own policy, on the chosen backend
      else {
        const policy = await policyOf(s);
        if (token !== want) return { id: currentId(), steps: find(currentId()).steps };
        Object.assign(S, {
          policy,
          backend: 'wasm',
          sync: true,
          forwardMicros: null,
          kernelMicros: null,
          error: null,
          note: `the agent ${label(s)} of training (wasm)`,
        });
      }
    } catch (err) {
      note.textContent = `could not load it: ${err.message || err}`;
      throw err;
    } finally {
      pending--;
    }
    if (token === want) {
      note.textContent = '';
      collect();
      newEpisode();
    }
    return { id: s.id, steps: s.steps };
  }
  slider.oninput = () => {
    useSnapshot(list[Number(slider.value)].id).catch(() => {});
  };

  /** Once a frame: count finished episodes, and follow the page (a backend switch plays the final policy). */
  function follow() {
    collect();
    const id = currentId(),
      t0 = tally.get(id);
    if (!pending) {
      slider.value = String(list.findIndex((s) => s.id === id));
      show(find(id));
    }
    hereOut.textContent = t0?.n ? `${fmt(t0.sum / t0.n)} over ${t0.n} episodes` : '–';
  }
  show(find(currentId()));
  const say = (text) => {
    note.textContent = text;
  };
  return { section, useSnapshot, follow, say };
}

/**
 * "Side by side": two policies (two snapshots, or one and the final agent) on two canvases, started from the
 * same state (the same seed) and pushed alike, with the returns of both; its box goes into the slider's
 * section. frame(t, dt) runs once a frame.
 */
function mountSideBySide({ spec, Env, renderer, el, S, getEnv, episodeSeed, agentAction }, snaps, slider) {
  const { list, final, label, find, policyOf } = snaps;
  const pick = (s) =>
    el(
      'select',
      {},
      ...list.map((x) => el('option', { value: x.id, textContent: label(x), selected: x === s })),
    );
  const left = pick(list[0]),
    right = pick(final);
  left.setAttribute('aria-label', 'Left policy');
  right.setAttribute('aria-label', 'Right policy');
  const start = el('button', { type: 'button', textContent: 'Start' });
  const stop = el('button', { type: 'button', textContent: 'Stop' });
  const { views, grid } = sideViews(el, renderer);
  const box = el(
    'details',
    {},
    el('summary', { textContent: 'Side by side' }),
    el('p', {}, left, ' vs ', right, ' ', start, ' ', stop),
    el('p', { textContent: 'Both start from the same state; a push on either canvas pushes both alike.' }),
    grid,
  );
  slider.section.append(box);

  const cmp = { on: false, seed: 0, round: 0, hold: 0, sides: [] };
  const makeEnv = () => new Env(getEnv().constants); // the physics in force on the page (what-if included)
  function newRound() {
    const seed = (cmp.seed + cmp.round) >>> 0;
    cmp.round++;
    for (const x of cmp.sides) {
      x.env.reset({ seed });
      Object.assign(x, { start: Array.from(x.env.state), ret: 0, done: false, pushed: false });
    }
  }
  function stopCompare() {
    cmp.on = false;
    for (const x of cmp.sides) x.env.close?.(); // an engine env's memory
    cmp.sides = [];
  }
  /** Start two policies side by side from the same state; resolves to compareStatus(). */
  async function compare(a = left.value, b = right.value) {
    const chosen = [find(a), find(b)];
    const policies = await Promise.all(chosen.map(policyOf));
    stopCompare();
    [left.value, right.value] = chosen.map((s) => s.id);
    cmp.sides = chosen.map((s, i) => ({
      s,
      policy: policies[i],
      env: makeEnv(),
      view: views[i],
      returns: [],
    }));
    cmp.seed = episodeSeed();
    cmp.round = 0;
    cmp.hold = 0;
    newRound();
    cmp.on = true;
    box.open = true;
    return compareStatus();
  }
  start.onclick = () => {
    compare().catch((err) => {
      slider.say(`side by side: ${err.message || err}`);
    });
  };
  stop.onclick = stopCompare;

  const live = () => cmp.sides.filter((x) => !x.done);
  function stepAll() {
    for (const x of live()) {
      const r = x.env.step(agentAction(spec, x.policy.forward(x.env.obs)));
      x.ret += r.reward;
      if (r.terminated || r.truncated || !x.env.state.every(Number.isFinite)) {
        x.done = true;
        x.returns.push(x.ret);
      }
    }
  }
  /** Push every side still playing as the drag p0 -> p1 (world pixels) on side i's state would: false when
   * nothing is there. Both sides step in lockstep, so the push lands at the same step of each. */
  function pushBoth(i, p0, p1) {
    const side = cmp.sides[i];
    const handle = side && !side.done ? (renderer.hit?.(side.env.state, p0) ?? null) : null;
    if (handle === null || typeof renderer.push !== 'function') return false;
    const dd = [p1[0] - p0[0], p1[1] - p0[1]];
    const delta = Math.hypot(dd[0], dd[1]) < CLICK_PX ? [0, 0] : dd;
    for (const x of live()) {
      x.env.setState(renderer.push(x.env.state, handle, delta));
      x.pushed = true;
    }
    return true;
  }
  views.forEach((v, i) => {
    const world = (e) => {
      const r = v.canvas.getBoundingClientRect(),
        { k, ox, oy } = renderer.fit({ width: r.width, height: r.height });
      return [(e.clientX - r.left - ox) / k, (e.clientY - r.top - oy) / k];
    };
    let p0 = null;
    v.canvas.onpointerdown = (e) => {
      if (cmp.on) p0 = world(e);
    };
    v.canvas.onpointerup = (e) => {
      if (p0) pushBoth(i, p0, world(e));
      p0 = null;
    };
    v.canvas.onpointercancel = () => {
      p0 = null;
    };
  });

  function compareStatus() {
    if (!cmp.sides.length) return null;
    return {
      on: cmp.on,
      round: cmp.round,
      sides: cmp.sides.map((x) => ({
        id: x.s.id,
        steps: x.s.steps,
        start: x.start.slice(),
        state: Array.from(x.env.state),
        step: x.env.steps,
        episodeReturn: x.ret,
        done: x.done,
        pushed: x.pushed,
        returns: x.returns.slice(),
      })),
    };
  }

  let acc = 0;
  /** Once a frame: step both sides at the page's speed (a pause between rounds), and draw them. */
  function frame(t, dt) {
    if (!cmp.on) return;
    if (!live().length) {
      // both done: a moment to compare, then the next start state, the same for both
      if (!cmp.hold) cmp.hold = t + (S.speed === 'max' ? 0 : 1000);
      else if (t >= cmp.hold) {
        cmp.hold = 0;
        newRound();
      }
    } else if (S.running) {
      if (S.speed === 'max') {
        const end = performance.now() + 8;
        while (live().length && performance.now() < end) stepAll();
      } else {
        const rate = spec.renderFps * S.speed;
        acc = Math.min(acc + (dt / 1000) * rate, 1 + rate / 10);
        for (let n = Math.floor(acc); n > 0 && live().length; n--) stepAll();
        acc -= Math.floor(acc);
      }
    }
    drawSides(cmp.sides, renderer, label);
  }
  return { compare, stopCompare, compareStatus, pushBoth, frame };
}

/** The two side-by-side views: a canvas and its caption each, in a two-column grid. */
function sideViews(el, renderer) {
  const views = [0, 1].map(() => {
    const canvas = el('canvas', { width: 300, height: 200 });
    canvas.setAttribute('role', 'img');
    canvas.style.cssText = `width:100%;aspect-ratio:${renderer.WIDTH} / ${renderer.HEIGHT};touch-action:none`;
    const caption = el('figcaption');
    return { canvas, caption, figure: el('figure', {}, canvas, caption) };
  });
  const grid = el('div', {}, ...views.map((v) => v.figure));
  grid.style.cssText = 'display:grid;grid-template-columns:1fr 1fr;gap:0.5em';
  return { views, grid };
}

/** Draw each side on its canvas (sized to the device's pixels) with its return so far in the caption. */
function drawSides(sides, renderer, label) {
  const dpr = window.devicePixelRatio || 1;
  for (const x of sides) {
    const { canvas, caption } = x.view,
      r = canvas.getBoundingClientRect();
    if (!r.width) continue; // folded away
    const w = Math.round(r.width * dpr),
      h = Math.round(r.height * dpr);
    if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    renderer.draw(ctx, x.env.state, {
      width: r.width,
      height: r.height,
      hud: [label(x.s), `return ${fmt(x.ret)}${x.done ? ' · done' : ''}`],
      badge: x.pushed ? 'pushed (both alike)' : '',
      ...(x.env.screen ? { screen: x.env.screen } : {}),
    });
    const mean = x.returns.length ? x.returns.reduce((a, b) => a + b, 0) / x.returns.length : NaN;
    const text = `${label(x.s)}: return ${fmt(x.ret)}; mean ${fmt(mean)} over ${x.returns.length} episodes`;
    if (caption.textContent !== text) caption.textContent = text;
  }
}
