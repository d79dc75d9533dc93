// ALE/Pong-v5 (ale-py 0.12.1; Gymnasium's AtariPreprocessing on it, atari.js): the right paddle against the
// console. ALE calls the paddle's moves RIGHT (up) and LEFT (down).
import { AtariEnv, atariSpec, load as loadAtari } from './atari.js';

export const spec = atariSpec({
  id: 'ALE/Pong-v5',
  title: 'Pong',
  rom: 'pong',
  actionNames: ['NOOP', 'FIRE', 'RIGHT (up)', 'LEFT (down)', 'RIGHTFIRE', 'LEFTFIRE'],
  keys: { ArrowUp: 2, ArrowDown: 3, f: 1 }, // F fires (Space is the page's play/pause)
  solved: 18, // the bar: +18 greedy over 10 episodes
});

export const load = (source) => loadAtari(source, spec.rom);

export class Pong extends AtariEnv {
  static id = spec.id;
  constructor(constants) {
    super(spec, constants);
  }
}
export { Pong as Env };
