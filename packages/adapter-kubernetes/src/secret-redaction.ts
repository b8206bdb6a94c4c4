/**
 * Secret values out of API responses: every value of a Secret's `data` and `stringData` is
 * replaced, keys kept (so `kubectl get secret` still shows what a secret holds, not what it says).
 * `data` values stay valid base64 so typed clients still decode the object.
 */

/** `data` values become this, base64-encoded. */
export const REDACTED_TEXT = '[REDACTED]';
export const REDACTED_BASE64 = Buffer.from(REDACTED_TEXT).toString('base64');
/** kubectl apply keeps the whole applied object, values included, in this annotation. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Redacts, in place, every Secret in a decoded response of the `secrets` resource: a Secret, a
 * SecretList's items, a Table's row objects, a watch event's object. Returns how many values.
 * A `Status` (an error) has nothing to redact.
 */
export function redactSecrets(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + redactSecrets(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  const object = value as Record<string, unknown>;
  let count = 0;
  for (const field of ['data', 'stringData'] as const) {
    const map = object[field];
    if (typeof map !== 'object' || map === null || Array.isArray(map)) continue;
    for (const key of Object.keys(map)) {
      (map as Record<string, unknown>)[key] = field === 'data' ? REDACTED_BASE64 : REDACTED_TEXT;
      count++;
    }
  }
  const annotations = (object['metadata'] as { annotations?: Record<string, unknown> } | undefined)?.annotations;
  if (annotations && typeof annotations[LAST_APPLIED] === 'string') {
    annotations[LAST_APPLIED] = REDACTED_TEXT;
    count++;
  }
  for (const [key, child] of Object.entries(object)) {
    if (key === 'data' || key === 'stringData' || key === 'metadata') continue;
    if (typeof child === 'object' && child !== null) count += redactSecrets(child);
  }
  return count;
}

/** Redacts one complete JSON document; throws when it is not JSON (the caller refuses the response). */
export function redactSecretsJson(text: string): { text: string; count: number } {
  const value: unknown = JSON.parse(text);
  const count = redactSecrets(value);
  return { text: JSON.stringify(value), count };
}
