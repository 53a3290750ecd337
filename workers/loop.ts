export { type Loop, startLoop } from '../src/lib/loop';
