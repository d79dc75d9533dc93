// 'gymnasium-atari' frames (policy.json `frames`; our trainer's): ALE/<Game>-v5 made with frameskip=1, under
// Gymnasium 1.x AtariPreprocessing(noop_max=30, frame_skip=4, screen_size=84, grayscale) then
// FrameStackObservation(4). Reset takes 1..30 noops (np_random.integers), re-seeding if one ends the game; a
// step repeats the action 4 frames (each one ALE act: sticky actions happen inside ALE), keeping the gray
// screens of the last two, max-pools them and area-resizes to 84x84; the stack repeats the reset frame.
import { AtariEnv } from './atari.js';
import { AreaResize, FRAME, FrameStack, maxPool, SIZE, STACK } from './preprocess.js';

const NOOP_MAX = 30,
  FRAME_SKIP = 4;

export class GymnasiumAtariEnv extends AtariEnv {
  constructor(spec, constants) {
    super(spec, constants);
    const { height, width } = this.ale;
    this.obsDim = FRAME * STACK;
    this.gray = [new Uint8Array(height * width), new Uint8Array(height * width)];
    this.resize = new AreaResize(height, width, SIZE, SIZE, 1);
    this.frame = new Uint8Array(FRAME);
    this.stack = new FrameStack('repeat');
    this.obs = this.stack.obs;
  }

  #observe() {
    maxPool(this.gray[0], this.gray[1], this.gray[0]);
    this.resize.resize(this.gray[0], this.frame);
    this.observeConsole();
  }

  /** AtariPreprocessing.reset(seed=seed) under the frame stack. */
  reset({ seed, state } = {}) {
    if (state !== undefined) throw new Error(`${this.spec.id}: an episode starts from a seed, not a state`);
    this.resetGame(seed);
    const noops = this.np.integers(1, NOOP_MAX + 1);
    for (let i = 0; i < noops; i++) {
      const r = this.act(0);
      if (r.terminated || r.truncated) this.resetGame(seed);
    }
    this.ale.screenGray(this.gray[0]);
    this.gray[1].fill(0);
    this.#observe();
    this.stack.reset(this.frame);
    this.steps = 0;
    return this.obs;
  }

  /** One agent step: the action for FRAME_SKIP frames (fewer if the game ends), rewards summed. */
  step(action) {
    let reward = 0,
      terminated = false,
      truncated = false;
    for (let t = 0; t < FRAME_SKIP; t++) {
      const r = this.act(action);
      reward += r.reward;
      ({ terminated, truncated } = r);
      if (terminated || truncated) break;
      if (t === FRAME_SKIP - 2) this.ale.screenGray(this.gray[1]);
      else if (t === FRAME_SKIP - 1) this.ale.screenGray(this.gray[0]);
    }
    this.#observe();
    this.stack.push(this.frame);
    this.steps++;
    return { obs: this.obs, reward, terminated, truncated };
  }
}
