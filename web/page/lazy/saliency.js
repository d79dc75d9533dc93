// Saliency bars: how each observation feature moves the policy's decision for the action it takes, from the
// gradient tinygrad derived (the kernel folder's saliency(k); rl_web_agent/compiler/saliency.py): discrete, d log P(k | obs) /
// d obs for the greedy action k; q-values, d Q(k) / d obs; box, d mean_k / d obs (the final action when
// squashed) for the dimension the viewer picks. One signed bar per feature, scaled to the largest.
// The lazy half: core/saliency.js imports this after the first action and passes the page's state in (a static
// import of the page's modules would split them into a chunk the page then fetches before its first action).

import { saliencyMap } from './saliency_map.js';

const fmt = (x) =>
  !Number.isFinite(x)
    ? '–'
    : x === 0
      ? '0'
      : Math.abs(x) >= 100 || Math.abs(x) < 0.01
        ? x.toExponential(1)
        : x.toFixed(2);

/**
 * Build the bars under the policy panel's outputs; returns update(), which recomputes the saliency when the
 * observation, the policy or the chosen action changed (core/saliency.js calls it at the panel's refresh rate).
 * The result is S.saliency (window.app.status().saliency): a Float32Array[obs_dim], or null.
 */
export function saliencyPanel({ S, env, spec, agentAction, el: make }) {
  // an image policy's saliency is a heat map over the frame it saw (lazy/saliency_map.js), not 28,224 bars
  if (spec.image) return saliencyMap({ S, env, spec, el: make });
  const box = spec.action.type === 'box';
  const title = make('span');
  const head = make('h3', { id: 'saliency-title' }, title);
  Object.assign(head.style, { fontSize: '1em', margin: '14px 0 6px' }); // a sub-heading of the panel's h2
  let dim = 0; // box: the action dimension shown
  const n = box ? spec.action.shape.reduce((a, b) => a * b, 1) : 0;
  if (n > 1) {
    // the viewer picks the dimension
    const pick = make(
      'select',
      { id: 'saliency-dim', title: 'The action dimension whose saliency is shown' },
      ...Array.from({ length: n }, (_, i) =>
        make('option', { value: String(i), textContent: spec.actionNames?.[i] ?? `action ${i}` }),
      ),
    );
    pick.addEventListener('change', () => {
      dim = Number(pick.value);
    });
    head.append(' ', pick);
  }
  const grid = make('div', { className: 'probs', id: 'saliency' });
  const bars = Array.from({ length: env.obsDim }, (_, i) => {
    const name = spec.obsNames?.[i] ?? `obs[${i}]`,
      bar = make('i'),
      zero = make('b');
    zero.style.left = '50%';
    const out = make('output', { textContent: '–' });
    grid.append(
      make('span', { textContent: name, title: name }),
      make('span', { className: 'meter signed' }, bar, zero),
      out,
    );
    return { bar, out };
  });
  const note = make('p', { id: 'saliency-note' });
  const section = make('div', { id: 'saliency-panel' }, head, grid, note);
  section.setAttribute('role', 'group');
  section.setAttribute('aria-labelledby', head.id);
  document.getElementById('heads').after(section);

  const names = spec.actionNames ?? [];
  const label = (k) => (box ? `action “${names[k] ?? k}”` : `${S.out?.q ? 'Q' : 'log P'}(${names[k] ?? k})`);
  let busy = false,
    key = '',
    last = null; // what the bars show: observation and action, and whose
  const show = (g, k) => {
    title.textContent = `Why: how each feature moves ${label(k)} (gradient)`;
    let big = 0;
    for (const x of g) if (Number.isFinite(x)) big = Math.max(big, Math.abs(x));
    bars.forEach(({ bar, out }, i) => {
      const x = g[i],
        p = Number.isFinite(x) && big > 0 ? 0.5 + (0.5 * x) / big : 0.5;
      bar.style.left = `${100 * Math.min(p, 0.5)}%`;
      bar.style.width = `${100 * Math.abs(p - 0.5)}%`;
      out.textContent = fmt(x);
    });
  };

  return async function update() {
    const policy = S.policy;
    if (busy || !policy) return;
    if (!policy.saliency) {
      // the python backend, or a kernel compiled before saliency
      S.saliency = null;
      grid.style.display = 'none'; // no stale bars (.probs's display: grid would override `hidden`)
      note.textContent =
        `No saliency on the ${S.backend} backend (wasm and WebGPU have it, from a kernel ` +
        'compiled with saliency: recompile an older one).';
      return;
    }
    const obs = Float32Array.from(env.obs);
    const now = `${dim}|${obs.join(',')}`;
    if (now === key && last === policy) return; // nothing changed: the bars stand
    busy = true;
    try {
      let k = dim;
      if (!box) k = agentAction(spec, await policy.forward(obs)); // the action the agent takes on this observation
      const g = await policy.saliency(obs, k);
      if (policy !== S.policy) return; // the backend changed meanwhile
      key = now;
      S.saliency = g;
      last = policy;
      note.textContent = '';
      grid.style.display = '';
      show(g, k);
    } catch (err) {
      S.saliency = null;
      note.textContent = `Saliency failed: ${err?.message || err}`;
    } finally {
      busy = false;
    }
  };
}
