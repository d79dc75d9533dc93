// An Atari game as the policy saw it in Python: ale-py's AtariEnv (ALE/<Game>-v5, made with frameskip=1) on the
// ALE engine (engine.js), wrapped as policy.json `frames` says (preprocess.js). Frame for frame what Python
// does, so that reset({seed}) and the same actions give ale-py's screens and the policy's exact input:
//   - seeding: AtariEnv.seed_game: SeedSequence(seed).generate_state(2) -> (np seed, ALE seed); the np seed
//     makes env.np_random (the noop count), the ALE seed ALE's own RNG (sticky actions), then loadROM and
//     reset_game;
//   - 'gymnasium-atari' (our trainer's: Gymnasium 1.x AtariPreprocessing(noop_max=30, frame_skip=4,
//     screen_size=84, grayscale) then FrameStackObservation(4)): reset takes 1..30 noops (np_random.integers),
//     re-seeding if one ends the game; a step repeats the action 4 frames (each one ALE act: sticky actions
//     happen inside ALE), keeping the gray screens of the last two, max-pools them and area-resizes to 84x84;
//     the stack repeats the reset frame.
// Runs in Node and the browser: no DOM.
//
// env.state is the console's 128 bytes of RAM (the game's variables; what setState writes back: a push edits
// the game), env.screen the last RGB screen (210x160x3, what the renderer draws), env.obs the policy's input
// (uint8 frames, channels first, oldest first).
import { generateState, Generator } from '../np_random.js';
import { ale, loadEngine } from './engine.js';
import { AreaResize, FRAME, FrameStack, maxPool, SIZE } from './preprocess.js';

const NOOP_MAX = 30,
  FRAME_SKIP = 4;
let rom = null; // the page's ROM bytes: load() fetches them with the engine (the build's 'engine.data')

/** Load the engine and the game's ROM: source = {url, integrity, data: {url, integrity} | {bytes}} (a page),
 * {bytes, data: {bytes}} (inline) or nothing (Node: the built engine and the installed ale-py's ROM). */
export async function load(source, romName) {
  const [, bytes] = await Promise.all([loadEngine(source), romBytes(source?.data, romName)]);
  rom = bytes;
}

async function romBytes(data, romName) {
  if (data?.bytes) return data.bytes;
  if (data?.url) {
    const res = await fetch(data.url, data.integrity ? { integrity: data.integrity } : {});
    if (!res.ok) throw new Error(`the ROM answered HTTP ${res.status} at ${data.url}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  // Node: ale-py's ROM folder in the repository's venv
  const fs = globalThis.process?.getBuiltinModule?.('node:fs');
  const lib = new URL('../../../../.venv/lib/', import.meta.url);
  const py = fs?.existsSync(lib) ? fs.readdirSync(lib).find((d) => d.startsWith('python')) : null;
  const url = py && new URL(`${py}/site-packages/ale_py/roms/${romName}.bin`, lib);
  if (!url || !fs.existsSync(url))
    throw new Error(`${romName}.bin not found in .venv's ale-py: run \`make setup\``);
  return new Uint8Array(fs.readFileSync(url));
}

/** The Gymnasium id's ALE settings (ale-py's registration of ALE/<Game>-v5): sticky actions, episode cap. */
export const V5 = { repeatActionProbability: 0.25, maxFrames: 108000 };

export class AtariEnv {
  steps = 0;

  constructor(spec, constants = {}) {
    if (Object.keys(constants).length) {
      throw new Error(`${spec.id} has no physical constants (got ${Object.keys(constants).join(', ')})`);
    }
    if (!rom) throw new Error(`the ${spec.title} ROM is not loaded: await load() before making an env`);
    if (spec.frames !== 'gymnasium-atari') {
      throw new Error(`${spec.id}: frames '${spec.frames}' are not built on the page; 'gymnasium-atari' is`);
    }
    this.spec = spec;
    this.constants = Object.freeze({});
    const a = ale().create(rom, `${spec.rom}.bin`);
    a.setFloat('repeat_action_probability', spec.ale.repeatActionProbability);
    a.setInt('max_num_frames_per_episode', spec.ale.maxFrames);
    a.loadRom(); // as AtariEnv.__init__ (its seed is replaced by reset's)
    this.ale = a;
    this.actionSet = a.actions();
    if (this.actionSet.length !== spec.action.n) {
      throw new Error(
        `${spec.id}: ALE's minimal action set has ${this.actionSet.length} actions, not ${spec.action.n}`,
      );
    }
    this.obsDim = FRAME * 4;
    this.screen = new Uint8Array(a.height * a.width * 3);
    this.state = new Float64Array(128);
    this.gray = [new Uint8Array(a.height * a.width), new Uint8Array(a.height * a.width)];
    this.resize = new AreaResize(a.height, a.width, SIZE, SIZE, 1);
    this.frame = new Uint8Array(FRAME);
    this.stack = new FrameStack('repeat');
    this.obs = this.stack.obs;
  }

  #seed(seed) {
    const [npSeed, aleSeed] = generateState(seed, 2);
    this.np = new Generator(npSeed);
    this.ale.setInt('random_seed', aleSeed | 0); // np.int32(ale_seed)
    this.ale.loadRom();
    this.ale.reset();
  }

  /** AtariEnv.step at frameskip 1: one frame of the action, ALE's reward, terminal and truncation. */
  #frame(action) {
    const reward = this.ale.act(this.actionSet[action]);
    return { reward, terminated: this.ale.gameOver(false), truncated: this.ale.truncated() };
  }

  #observe() {
    maxPool(this.gray[0], this.gray[1], this.gray[0]);
    this.resize.resize(this.gray[0], this.frame);
    this.ale.screenRGB(this.screen);
    this.#readRam();
  }

  #readRam() {
    this.ale.ram(this.state);
  }

  /** reset({seed}): AtariPreprocessing's reset of a freshly seeded env; reset({}): a new random seed. */
  reset({ seed, state } = {}) {
    if (state !== undefined) throw new Error(`${this.spec.id}: an episode starts from a seed, not a state`);
    seed ??= (Math.random() * 2 ** 32) >>> 0;
    this.#seed(seed);
    const noops = this.np.integers(1, NOOP_MAX + 1);
    for (let i = 0; i < noops; i++) {
      const r = this.#frame(0);
      if (r.terminated || r.truncated) this.#seed(seed);
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
      const r = this.#frame(action);
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

  /** Overwrite the RAM (a perturbation: the game's variables), e.g. a state the page read and edited. */
  setState(state) {
    this.ale.setRam(state);
    this.#readRam();
  }

  /** The engine memory this env holds (the page's status). */
  get engineBytes() {
    return this.ale.e.memory.buffer.byteLength;
  }

  close() {
    this.ale.close();
  }
}

/** An ALE/<Game>-v5 spec (docs/design.md, "An environment"): the game's ROM name in ale-py, its minimal
 * action set's names (ALE's), the keys a human plays with, and the bar its shipped policy reached. */
export function atariSpec({ id, title, rom, actionNames, keys, solved = null }) {
  return {
    id,
    title,
    renderFps: 15, // 60 emulated frames a second, one decision per FRAME_SKIP
    maxSteps: V5.maxFrames / FRAME_SKIP, // ALE ends the episode there (truncated)
    action: { type: 'discrete', n: actionNames.length },
    actionNames,
    solved,
    image: [4, SIZE, SIZE], // the observation: 4 stacked 84x84 gray frames (no per-feature names)
    frames: 'gymnasium-atari', // the preprocessing this env reproduces (policy.json `frames`)
    human: { keys, idle: 0 },
    constants: {},
    render: 'atari',
    engine: 'ale',
    rom, // ale_py/roms/<rom>.bin: the build ships it as the page's engine data
    ale: V5,
    stateSize: 128, // the console's RAM
  };
}
