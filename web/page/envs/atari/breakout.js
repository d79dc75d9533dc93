// ALE/Breakout-v5 (ale-py 0.12.1; Gymnasium's AtariPreprocessing on it, atari.js): FIRE serves the ball.
import { AtariEnv, atariSpec, load as loadAtari } from './atari.js';

export const spec = atariSpec({
  id: 'ALE/Breakout-v5',
  title: 'Breakout',
  rom: 'breakout',
  actionNames: ['NOOP', 'FIRE', 'RIGHT', 'LEFT'],
  keys: { ArrowRight: 2, ArrowLeft: 3, f: 1 }, // F fires (Space is the page's play/pause)
});

export const load = (source) => loadAtari(source, spec.rom);

export class Breakout extends AtariEnv {
  static id = spec.id;
  constructor(constants) {
    super(spec, constants);
  }
}
export { Breakout as Env };
