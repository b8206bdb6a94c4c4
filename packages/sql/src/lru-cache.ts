/**
 * A least-recently-used cache, approximated with two generations of Maps (as `quick-lru` does):
 * new and recently read entries go to the young generation; when it is half full it becomes the
 * old one and the previous old generation is dropped whole. An entry survives as long as it is
 * read at least once per generation.
 *
 * Why not one Map re-inserted on every hit and evicted from its front: V8 leaves deleted entries
 * as holes until it rehashes, and finding the front means skipping all of them, which made every
 * miss cost about a microsecond at 2,000 entries. Here every operation is O(1).
 */
export class LruCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generationSize: number;

  /** Holds at most `capacity` entries, and at least the `capacity / 2` most recently used. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`cache capacity must be an integer of at least 2, got ${capacity}`);
    this.generationSize = Math.floor(capacity / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aging = this.old.get(key);
    if (aging !== undefined) {
      this.old.delete(key);
      this.addYoung(key, aging);
    }
    return aging;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.addYoung(key, value);
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }

  private addYoung(key: K, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
