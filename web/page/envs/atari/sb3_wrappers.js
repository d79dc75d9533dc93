// 'sb3-atari' and 'cleanrl-atari' frames (policy.json `frames`; imported policies): <Game>NoFrameskip-v4 under
// the DeepMind wrappers as SB3 writes them (stable_baselines3/common/atari_wrappers.py: AtariWrapper) and
// CleanRL's ppo_atari/dqn_atari stack them, innermost first:
//   NoopResetEnv(30)  reset: 1..30 noop frames (np_random.integers), resetting (with the seed) if one ends it;
//   MaxAndSkipEnv(4)  step: the action for 4 frames (fewer if the game ends), the element-wise max of the RGB
//                     screens of frames 3 and 4 (its buffer keeps the last step's screens when it ends early);
//   EpisodicLifeEnv   a lost life terminates the step; a reset after one is a noop step, not a new game (the
//                     seed is then unused);
//   FireResetEnv      (games whose action 1 is FIRE) reset, then steps FIRE and action 2;
//   then the frames: preprocess.js PIPELINES (SB3's WarpFrame and zero-padded VecFrameStack, or CleanRL's
//   resize, gray and repeating FrameStack).
// The rewards are the game's: ClipRewardEnv's sign() is for training, the page shows the score.
import { AtariEnv } from './atari.js';
import { FRAME, FrameStack, maxPool, PIPELINES, STACK } from './preprocess.js';

const NOOP_MAX = 30,
  SKIP = 4;

export class Sb3AtariEnv extends AtariEnv {
  constructor(spec, constants) {
    super(spec, constants);
    const { warp, pad } = PIPELINES[spec.frames];
    const rgb = () => new Uint8Array(this.screen.length);
    Object.assign(this, { warp, rgb: rgb(), skipped: [rgb(), rgb()], maxed: rgb(), fired: rgb(), lives: 0 });
    this.wasRealDone = true;
    this.fire = spec.actionNames.includes('FIRE'); // AtariWrapper adds FireResetEnv then
    this.obsDim = FRAME * STACK;
    this.frame = new Uint8Array(FRAME);
    this.stack = new FrameStack(pad);
    this.obs = this.stack.obs;
  }

  // NoopResetEnv.reset over AtariEnv.reset: the observation is the screen after the noops
  #noopReset(seed) {
    this.resetGame(seed);
    const noops = this.np.integers(1, NOOP_MAX + 1);
    for (let i = 0; i < noops; i++) {
      const r = this.act(0);
      if (r.terminated || r.truncated) this.resetGame(seed);
    }
    return this.ale.screenRGB(this.rgb);
  }

  // MaxAndSkipEnv.step
  #skip(action) {
    let reward = 0,
      terminated = false,
      truncated = false;
    for (let i = 0; i < SKIP; i++) {
      const r = this.act(action);
      ({ terminated, truncated } = r);
      if (i === SKIP - 2) this.ale.screenRGB(this.skipped[0]);
      if (i === SKIP - 1) this.ale.screenRGB(this.skipped[1]);
      reward += r.reward;
      if (terminated || truncated) break;
    }
    return { obs: maxPool(this.skipped[0], this.skipped[1], this.maxed), reward, terminated, truncated };
  }

  // EpisodicLifeEnv.step
  #lifeStep(action) {
    const r = this.#skip(action);
    this.wasRealDone = r.terminated || r.truncated;
    const lives = this.ale.lives();
    if (lives > 0 && lives < this.lives) r.terminated = true;
    this.lives = lives;
    return r;
  }

  // EpisodicLifeEnv.reset: a new game only after a real end; else a noop step (through MaxAndSkipEnv)
  #lifeReset(seed) {
    let obs;
    if (this.wasRealDone) obs = this.#noopReset(seed);
    else {
      const r = this.#skip(0);
      obs = r.terminated || r.truncated ? this.#noopReset(seed) : r.obs;
    }
    this.lives = this.ale.lives();
    return obs;
  }

  // FireResetEnv.reset: its observation is the FIRE-then-2 step's even when that step ended the game
  #fireReset(seed) {
    this.#lifeReset(seed);
    let r = this.#lifeStep(1);
    if (r.terminated || r.truncated) this.#lifeReset(seed);
    r = this.#lifeStep(2);
    this.fired.set(r.obs);
    if (r.terminated || r.truncated) this.#lifeReset(seed);
    return this.fired;
  }

  #observe(rgb) {
    this.warp(rgb, this.frame);
    this.observeConsole();
  }

  /** AtariWrapper.reset(seed=seed) under the frame stack. */
  reset({ seed, state } = {}) {
    if (state !== undefined) throw new Error(`${this.spec.id}: an episode starts from a seed, not a state`);
    this.#observe(this.fire ? this.#fireReset(seed) : this.#lifeReset(seed));
    this.stack.reset(this.frame);
    this.steps = 0;
    return this.obs;
  }

  /** One agent step (4 frames): the game's reward; a lost life terminates it. */
  step(action) {
    const { obs, reward, terminated, truncated } = this.#lifeStep(action);
    this.#observe(obs);
    this.stack.push(this.frame);
    this.steps++;
    return { obs: this.obs, reward, terminated, truncated };
  }
}
