export { listenOn } from './listen-on';
export type { Listenable } from './listen-on';
export { RangeWriter } from './range-writer';
