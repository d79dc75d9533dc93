// ALE/SpaceInvaders-v5 (ale-py 0.12.1; Gymnasium's AtariPreprocessing on it, atari.js).
import { AtariEnv, atariSpec, load as loadAtari } from './atari.js';

export const spec = atariSpec({
  id: 'ALE/SpaceInvaders-v5',
  title: 'Space Invaders',
  rom: 'space_invaders',
  actionNames: ['NOOP', 'FIRE', 'RIGHT', 'LEFT', 'RIGHTFIRE', 'LEFTFIRE'],
  keys: { ArrowRight: 2, ArrowLeft: 3, f: 1 }, // F fires (Space is the page's play/pause)
});

export const load = (source) => loadAtari(source, spec.rom);

export class SpaceInvaders extends AtariEnv {
  static id = spec.id;
  constructor(constants) {
    super(spec, constants);
  }
}
export { SpaceInvaders as Env };
