// tests/test_physics.py's Node side: web/page/lazy/whatif.js's setPhysics (the page's own code, without a panel:
// no DOM) swapping in new constants mid-episode, for one env. Prints JSON: the state where the physics
// changed, the random actions taken after it and the states they led to.
// node tests/physics_runner.mjs ENV_ID CONSTANTS_JSON SEED STEPS_BEFORE STEPS_AFTER
import { ENVS } from '../web/page/envs/index.js';
import { init } from '../web/page/lazy/whatif.js';
import { rng } from '../web/page/envs/base.js';

const [id, constants, seed, before, after] = process.argv.slice(2);
const { spec, Env } = ENVS[id];
let env = new Env();
const S = { whatIf: false };
const api = init({
  spec,
  Env,
  S,
  $: () => null,
  el: null,
  episodeSeed: (k) => k,
  outputs: [],
  swapEnv: (next) => {
    env = next;
  },
  whatIf: () => true,
  env: () => env,
});
const rand = rng(Number(seed));
const action = () =>
  spec.action.type === 'discrete'
    ? Math.floor(rand() * spec.action.n)
    : spec.action.low.map((lo, i) => Math.fround(lo + (spec.action.high[i] - lo) * rand()));

env.reset({ seed: Number(seed) });
for (let i = 0; i < Number(before); i++) env.step(action());
const at = Array.from(env.state),
  steps = env.steps;
const physics = api.setPhysics(JSON.parse(constants));
const actions = [],
  states = [];
for (let i = 0; i < Number(after); i++) {
  const a = action();
  env.step(a);
  actions.push(a);
  states.push(Array.from(env.state));
}
console.log(
  JSON.stringify({ at, steps, stepsAfterSwap: env.steps, physics, whatIf: S.whatIf, actions, states }),
);
process.exit(0); // lazy/whatif.js's MessageChannel (its yields) would keep Node running
