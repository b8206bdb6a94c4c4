export { IdleTimer } from './idle-timer';
export { listenOn } from './listen-on';
export type { Listenable } from './listen-on';
export { RangeWriter } from './range-writer';
export { readTargetFields, targetConfigError } from './target-fields';
export type { TargetFields } from './target-fields';
