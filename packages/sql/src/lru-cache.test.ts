import { LruCache } from './lru-cache';

describe('LruCache', () => {
  it('keeps what was used recently and drops what was not', () => {
    const cache = new LruCache<string, number>(4);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // `a` is used again, `b` is not
    cache.set('c', 3);
    cache.set('d', 4);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('d')).toBe(4);
  });

  it('never holds more than its capacity', () => {
    const cache = new LruCache<number, number>(10);
    for (let i = 0; i < 1_000; i++) {
      cache.set(i, i);
      expect(cache.size).toBeLessThanOrEqual(10);
    }
    // The most recent half is always there.
    for (let i = 995; i < 1_000; i++) expect(cache.get(i)).toBe(i);
  });

  it('replaces a value without growing', () => {
    const cache = new LruCache<string, number>(4);
    cache.set('a', 1);
    cache.set('a', 2);
    expect(cache.get('a')).toBe(2);
    expect(cache.size).toBe(1);
  });

  it('rejects a capacity that is not an integer of at least 2', () => {
    expect(() => new LruCache(1)).toThrow(RangeError);
    expect(() => new LruCache(2.5)).toThrow(RangeError);
  });
});
