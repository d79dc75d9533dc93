// Space Invaders (ale-py 0.12.1; game.js makes ALE/SpaceInvaders-v5 and SpaceInvadersNoFrameskip-v4).
import { atariGame } from './game.js';

export const { spec, Env, load, variants } = atariGame({
  name: 'SpaceInvaders',
  title: 'Space Invaders',
  rom: 'space_invaders',
  actionNames: ['NOOP', 'FIRE', 'RIGHT', 'LEFT', 'RIGHTFIRE', 'LEFTFIRE'],
  keys: { ArrowRight: 2, ArrowLeft: 3, f: 1 }, // F fires (Space is the page's play/pause)
});
