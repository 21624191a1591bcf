/**
 * `f(value)` at once, in the same synchronous stretch, when `value` is not
 * a promise; after it resolves when it is. For builds that must create their
 * networks before their first await (tensor/models/weight-count.ts) when
 * their input is at hand, and can wait when it is not (a data module).
 */
export function thenOrNow<T, R>(value: T | Promise<T>, f: (v: T) => R | Promise<R>): Promise<R> {
  if (value instanceof Promise) return value.then(f);
  try {
    return Promise.resolve(f(value));
  } catch (err) {
    return Promise.reject(err as Error);
  }
}
