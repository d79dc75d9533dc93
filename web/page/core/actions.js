// What the policy's outputs and the human's controls mean as an action of the env (spec.action), and
// whether a kernel fits the env at all. No DOM: pure functions of the spec.

const argmax = (v) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

/** The greedy action: argmax of the probabilities or Q-values; a box action is the mean clipped to its bounds. */
export function agentAction(spec, out) {
  if (spec.action.type === 'discrete') return argmax(out.probs ?? out.q);
  const { low, high } = spec.action;
  return Array.from(out.mean, (m, i) => Math.min(Math.max(m, low[i]), high[i]));
}

/**
 * The human's action. Discrete: the newest held key's action, else spec.human.idle ('alternate': cycle
 * through the actions, no net push where the env has no "no force" action, as CartPole). Box: the controls'
 * values (keys set them to the bounds, release returns them to idle).
 */
export function humanAction(spec, held, box, last) {
  if (spec.action.type === 'box') return box.slice();
  if (held.length) return held[held.length - 1];
  const idle = spec.human?.idle ?? 0;
  return idle === 'alternate' ? (Number.isInteger(last) ? (last + 1) % spec.action.n : 0) : idle;
}

/** The box action at rest (spec.human.idle, else zeros clipped into the bounds). */
export function idleBox(spec) {
  const { low, high } = spec.action,
    idle = spec.human?.idle;
  return low.map((lo, i) => Math.min(Math.max(Array.isArray(idle) ? idle[i] : 0, lo), high[i]));
}

const prod = (shape) => shape.reduce((a, b) => a * b, 1);
/** Number of action dimensions (box) or actions (discrete). */
export const actionSize = (action) => (action.type === 'box' ? prod(action.shape) : action.n);

/**
 * Why the kernel (its manifest) cannot drive this env, or '' when it fits: same env, observation size, action
 * type, count or shape, and an action head of that size (the kernel folder's outputs).
 */
export function kernelMismatch(spec, obsDim, m) {
  const a = spec.action,
    k = m.action ?? {};
  const say = (what) =>
    `the policy kernel does not fit ${spec.id}: ${what}. Recompile it for this env ` +
    `(\`make compile-kernel ENV=${spec.id}\`) and rebuild the page (\`make bundle\`).`;
  const shape = (x) => (x.type === 'box' ? `a box action of shape [${x.shape}]` : `${x.n} discrete actions`);
  if (m.env_id !== spec.id) return say(`it was compiled for ${m.env_id}`);
  if (m.obs_dim !== obsDim) return say(`it takes ${m.obs_dim} observation values, the env gives ${obsDim}`);
  // an image policy sees frames made one way (policy.json `frames`); the env must make them the same way
  if ((m.frames ?? null) !== (spec.frames ?? null))
    return say(
      `it was trained on '${m.frames ?? 'state'}' frames, the env makes '${spec.frames ?? 'state'}' ones`,
    );
  if (k.type !== a.type || (a.type === 'box' ? String(k.shape) !== String(a.shape) : k.n !== a.n)) {
    return say(`it outputs ${k.type ? shape(k) : 'an unknown action'}, the env takes ${shape(a)}`);
  }
  const head = (m.outputs ?? []).find((o) => o.name !== 'value');
  if (!head || head.size !== actionSize(a)) {
    return say(`its outputs ${JSON.stringify(m.outputs)} have no action head of size ${actionSize(a)}`);
  }
  return '';
}
