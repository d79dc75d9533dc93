// Input, the lazy half (core/input.js loads it once the agent has acted): human control from spec.human (keys,
// on-screen buttons, and for box actions one slider per dimension that springs back to idle on release, usable on
// touch screens), perturbation by clicking or dragging the scene, and the wiring of the simulation controls,
// Share and Record and the what-if panel. The page's
// pieces are passed in (importing them would split the page's own modules into a chunk it fetches first).

const FOOTER = `<p>Keys: <kbd>Space</kbd> play/pause · <kbd>S</kbd> step · <kbd>R</kbd> reset<span id="human-keys"></span> · <kbd>A</kbd> agent · <kbd>+</kbd> <kbd>−</kbd> speed. Pushes are outside Gymnasium's dynamics; such episodes are marked.</p>`;

/** Wire every control; ctx: the page's pieces (core/input.js), `backend(name)` switches the backend. */
export function wireInput(ctx) {
  const { spec, renderer, $, el, S, box, getEnv, newEpisode, stepOnce, idleBox, SPEEDS, canvas, toWorld } =
    ctx;
  const { setMode, setSpeed, setRunning, perturb, click, pushable, backend, share, openPhysics } = ctx;
  const keys = spec.human?.keys ?? {};
  const GLYPH = { ArrowLeft: '←', ArrowRight: '→', ArrowUp: '↑', ArrowDown: '↓', ' ': 'Space' };
  const glyph = (k) => GLYPH[k] ?? (k.length === 1 ? k.toUpperCase() : k);
  const num = (x) => `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(Math.round(x * 100) / 100)}`;
  /** A key's action in words: the discrete action's name, or each box dimension's name and value. */
  const label = (a) =>
    !box
      ? (spec.actionNames?.[a] ?? `action ${a}`)
      : a.map((x, i) => `${spec.actionNames?.[i] ?? `a[${i}]`} ${num(x)}`).join(', ');

  // ---- human control ----

  const pressed = []; // human keys held now, oldest first (the newest decides)
  let sliders = [],
    sliding = false;

  /** The human's action from what is held now: the newest key, else the sliders while held, else idle. */
  function update() {
    const acts = pressed.map((k) => keys[k]);
    if (!box) {
      S.held = acts;
      return;
    }
    const { low, high } = spec.action;
    const v = acts.length
      ? acts[acts.length - 1]
      : sliding
        ? sliders.map((s) => Number(s.value))
        : idleBox(spec);
    S.boxAction = v.map((x, i) => Math.min(Math.max(x, low[i]), high[i]));
    if (!sliding)
      sliders.forEach((s, i) => {
        s.value = String(S.boxAction[i]);
      });
  }

  function press(key) {
    setMode('human');
    if (!pressed.includes(key)) pressed.push(key);
    update();
  }
  function release(key) {
    const i = pressed.indexOf(key);
    if (i >= 0) pressed.splice(i, 1);
    update();
  }

  function humanControls() {
    const bar = $('human-controls'),
      hints = [];
    for (const [key, action] of Object.entries(keys)) {
      const name = label(action),
        b = el('button', {
          type: 'button',
          textContent: `${glyph(key)} ${name}`,
          title: `${name} (${glyph(key)}): takes over from the agent`,
        });
      b.setAttribute('aria-keyshortcuts', key);
      const hold = (on) => (e) => {
        e.preventDefault();
        (on ? press : release)(key);
      };
      b.onpointerdown = hold(true);
      b.onpointerup = b.onpointerleave = b.onpointercancel = hold(false);
      b.onkeydown = (e) => {
        if (e.key === 'Enter' || e.key === ' ') hold(true)(e);
      };
      b.onkeyup = (e) => {
        if (e.key === 'Enter' || e.key === ' ') hold(false)(e);
      };
      bar.append(b);
      hints.push(`${glyph(key)} ${name}`);
    }
    if (box) {
      const { low, high } = spec.action;
      sliders = low.map((lo, i) => {
        const s = el('input', {
          type: 'range',
          min: String(lo),
          max: String(high[i]),
          step: 'any',
          value: String(S.boxAction[i]),
          title: 'Drag to act (takes over); it springs back when released',
        });
        const grab = () => {
          sliding = true;
          setMode('human');
          update();
        };
        const letGo = () => {
          if (sliding) {
            sliding = false;
            update();
          }
        };
        s.oninput = grab;
        s.onpointerup = s.onpointercancel = s.onkeyup = s.onblur = letGo;
        bar.append(el('label', { className: 'slider' }, `${spec.actionNames?.[i] ?? `a[${i}]`} `, s));
        return s;
      });
    }
    $('human-keys').textContent = hints.length ? ` · ${hints.join(' · ')} (hold: takes over)` : '';
  }

  function pointerPush() {
    let grab = null;
    canvas.onpointerdown = (e) => {
      const p = toWorld(e),
        handle = renderer.hit(getEnv().state, p, getEnv().constants);
      if (handle === null || handle === undefined) return;
      grab = { handle, p0: p };
      canvas.setPointerCapture(e.pointerId);
    };
    canvas.onpointermove = (e) => {
      const p = toWorld(e);
      if (grab) S.drag = { handle: grab.handle, d: [p[0] - grab.p0[0], p[1] - grab.p0[1]] };
      else canvas.style.cursor = renderer.hit(getEnv().state, p, getEnv().constants) === null ? '' : 'grab';
    };
    canvas.onpointerup = (e) => {
      if (!grab) return;
      perturb(grab.handle, click(grab.p0, toWorld(e)));
      grab = S.drag = null;
    };
    canvas.onpointercancel = () => {
      grab = S.drag = null;
    };
  }

  function wire() {
    $('play').onclick = () => setRunning(!S.running);
    $('step').onclick = () => {
      stepOnce();
      setRunning(false);
    };
    $('reset').onclick = () => newEpisode();
    $('speed').onchange = (e) => setSpeed(e.target.value);
    $('backend').onchange = (e) => backend(e.target.value);
    for (const r of document.querySelectorAll('input[name=mode]')) r.onchange = () => setMode(r.value);
    // the keys' help, made here with the keys it describes (no part of the page's first bytes)
    const help = el('footer', { className: 'full', innerHTML: FOOTER });
    $('physics').after(help);
    humanControls();
    if (pushable) pointerPush();
    // share and record (core/share.js's handlers: lazy/share.js loads at the first click)
    $('share').onclick = share.share;
    $('record').onclick = share.record;
    $('full').onclick = share.full;
    // the what-if panel, where the env has constants to change (engine envs have none), loaded when opened
    const physics = $('physics');
    physics.hidden = !Object.keys(spec.constants ?? {}).length;
    physics.ontoggle = () => {
      if (physics.open) openPhysics();
    };

    addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest?.('select, input, textarea')) return;
      const k = e.key;
      if (k in keys) press(k);
      else if (k === ' ' && e.target.tagName !== 'BUTTON') setRunning(!S.running);
      else if (k === 's' || k === 'S') $('step').onclick();
      else if (k === 'r' || k === 'R') newEpisode();
      else if (k === 'a' || k === 'A') setMode('agent');
      else if (k === 'h' || k === 'H') setMode('human');
      else if (k === '+' || k === '=' || k === '-') {
        const i = SPEEDS.indexOf(String(S.speed)) + (k === '-' ? -1 : 1);
        setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i))]);
      } else return;
      e.preventDefault();
    });
    addEventListener('keyup', (e) => {
      if (e.key in keys) release(e.key);
    });
    addEventListener('blur', () => {
      pressed.length = 0;
      sliding = false;
      update();
    });
  }

  wire();
}
