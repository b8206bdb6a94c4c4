/**
 * `source[start, end)` to `target` at `at`; returns the offset after the copied bytes. For the
 * few bytes of one value (a masked field, the stretch between two fields of a row) a loop costs
 * less than `Buffer#copy`, whose argument checks and views dominate at that size; longer runs go
 * to `Buffer#copy`.
 */
export function copyBytes(source: Buffer, start: number, end: number, target: Buffer, at: number): number {
  if (end - start > 48) return at + source.copy(target, at, start, end);
  for (let i = start; i < end; i++) target[at++] = source[i]!;
  return at;
}
