// An Atari game as ale-py's AtariEnv plays it at frameskip 1 (one emulated frame per act), on the ALE engine
// (engine.js): the settings of its Gymnasium id, the seeding, the RAM. The wrappers a policy was trained under
// (policy.json `frames`) are its subclasses, frame for frame what Python does:
//   - gymnasium_wrappers.js: 'gymnasium-atari' on ALE/<Game>-v5 (our trainer's);
//   - sb3_wrappers.js: 'sb3-atari' and 'cleanrl-atari' on <Game>NoFrameskip-v4 (imported policies);
// game.js makes a game's envs from its data (pong.js, breakout.js, ...).
// Seeding follows AtariEnv.seed_game: SeedSequence(seed).generate_state(2) -> (np seed, ALE seed); the np seed
// makes env.np_random (the wrappers' noop counts), the ALE seed ALE's own RNG (sticky actions), then loadROM
// and reset_game.
// Runs in Node and the browser: no DOM.
//
// env.state is the console's 128 bytes of RAM (the game's variables; what setState writes back: a push edits
// the game), env.screen the last RGB screen (210x160x3, what the renderer draws), env.obs the policy's input
// (uint8 frames, channels first, oldest first).
import { generateState, Generator } from '../np_random.js';
import { ale, loadEngine } from './engine.js';

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

/** ALE settings of ale-py's registrations: ALE/<Game>-v5 (sticky actions) and <Game>NoFrameskip-v4 (none). */
export const V5 = { repeatActionProbability: 0.25, maxFrames: 108000 };
export const V4 = { repeatActionProbability: 0, maxFrames: 108000 };

export class AtariEnv {
  steps = 0;

  constructor(spec, constants = {}) {
    if (Object.keys(constants).length) {
      throw new Error(`${spec.id} has no physical constants (got ${Object.keys(constants).join(', ')})`);
    }
    if (!rom) throw new Error(`the ${spec.title} ROM is not loaded: await load() before making an env`);
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
    this.screen = new Uint8Array(a.height * a.width * 3);
    this.state = new Float64Array(128);
  }

  /** AtariEnv.reset(seed=seed) before its observation: seed_game and load_game when seeded, then reset_game. A
   * first reset without a seed draws one (Gymnasium seeds np_random from the OS then). */
  resetGame(seed) {
    if (seed === undefined && !this.np) seed = (Math.random() * 2 ** 32) >>> 0;
    if (seed !== undefined) {
      const [npSeed, aleSeed] = generateState(seed, 2);
      this.np = new Generator(npSeed);
      this.ale.setInt('random_seed', aleSeed | 0); // np.int32(ale_seed)
      this.ale.loadRom();
    }
    this.ale.reset();
  }

  /** AtariEnv.step at frameskip 1: one frame of the action, ALE's reward, terminal and truncation. */
  act(action) {
    const reward = this.ale.act(this.actionSet[action]);
    return { reward, terminated: this.ale.gameOver(false), truncated: this.ale.truncated() };
  }

  /** After a reset or step: the screen the renderer draws and the RAM the page shows. */
  observeConsole() {
    this.ale.screenRGB(this.screen);
    this.ale.ram(this.state);
  }

  /** Overwrite the RAM (a perturbation: the game's variables), e.g. a state the page read and edited. */
  setState(state) {
    this.ale.setRam(state);
    this.ale.ram(this.state);
  }

  /** The engine memory this env holds (the page's status). */
  get engineBytes() {
    return this.ale.e.memory.buffer.byteLength;
  }

  close() {
    this.ale.close();
  }
}
