// An Atari game's envs from its data (pong.js, breakout.js, ...): ALE/<Name>-v5 with our trainer's frames
// (the game's page), and <Name>NoFrameskip-v4 with each imported library's frames (`variants`, keyed by
// policy.json `frames`: the page of an imported policy). docs/design.md, "An environment".
import { load, V4, V5 } from './atari.js';
import { GymnasiumAtariEnv } from './gymnasium_wrappers.js';
import { SIZE, STACK } from './preprocess.js';
import { Sb3AtariEnv } from './sb3_wrappers.js';

const FRAME_SKIP = 4; // every pipeline's: one decision per 4 emulated frames

/** The spec (docs/design.md, "An environment") of a game under one preprocessing: game = {name, title, rom
 * (ale_py/roms/<rom>.bin, shipped as the page's engine data), actionNames (ALE's minimal set), keys (a human's),
 * solved (the bar its shipped policy reached, or null)}. */
export function atariSpec({ name, title, rom, actionNames, keys, solved = null }, frames) {
  const v5 = frames === 'gymnasium-atari';
  const ale = v5 ? V5 : V4;
  return {
    id: v5 ? `ALE/${name}-v5` : `${name}NoFrameskip-v4`,
    title,
    renderFps: 60 / FRAME_SKIP, // 60 emulated frames a second
    maxSteps: ale.maxFrames / FRAME_SKIP, // ALE ends the episode there (truncated)
    action: { type: 'discrete', n: actionNames.length },
    actionNames,
    solved: v5 ? solved : null,
    image: [STACK, SIZE, SIZE], // the observation: 4 stacked 84x84 gray frames (no per-feature names)
    frames, // the preprocessing this env reproduces (policy.json `frames`)
    human: { keys, idle: 0 },
    constants: {},
    render: 'atari',
    engine: 'ale',
    rom,
    ale,
    stateSize: 128, // the console's RAM
  };
}

const make = (game, frames, Base) => {
  const spec = atariSpec(game, frames);
  return {
    spec,
    Env: class extends Base {
      static id = spec.id;
      constructor(constants) {
        super(spec, constants);
      }
    },
  };
};

/** {spec, Env, load, variants} of a game: its v5 env, the loader of its ROM, and its imported policies' envs. */
export function atariGame(game) {
  return {
    ...make(game, 'gymnasium-atari', GymnasiumAtariEnv),
    load: (source) => load(source, game.rom),
    variants: Object.fromEntries(['sb3-atari', 'cleanrl-atari'].map((f) => [f, make(game, f, Sb3AtariEnv)])),
  };
}
