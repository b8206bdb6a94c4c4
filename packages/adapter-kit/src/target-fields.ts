import { WardenError } from '@warden/core';

/**
 * Reads the fields of a connection's `target` section for an adapter's `parseTarget`. Every error is
 * `WardenError('config')` with the path of the offending field, so the gateway can name the file
 * and line; an unknown field is an error (a typo in a security setting must not be ignored).
 *
 * @example
 * const fields = readTargetFields(raw, new Set(['host', 'port']));
 * const target = { host: fields.text('host', { required: true })!, port: fields.port(5432) };
 */
export interface TargetFields {
  /** A string field; `undefined` when absent and not required. Empty strings only with `allowEmpty`. */
  text(key: string, options?: { readonly required?: boolean; readonly allowEmpty?: boolean }): string | undefined;
  /** `port`: an integer from 1 to 65535. */
  port(fallback: number): number;
  /** One of a fixed set of words. */
  oneOf<T extends string>(key: string, values: readonly T[], fallback: T): T;
  /** A positive number. */
  positive(key: string, fallback: number): number;
}

export function readTargetFields(raw: unknown, known: ReadonlySet<string>): TargetFields {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw targetConfigError([], 'target must be a mapping');
  const input = raw as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(input)) if (!known.has(key)) throw targetConfigError([key], `unknown field "${key}" (known: ${[...known].join(', ')})`);
  return {
    text: (key, options = {}) => {
      const value = input[key];
      if (value === undefined && !options.required) return undefined;
      if (typeof value !== 'string' || (value === '' && !options.allowEmpty)) throw targetConfigError([key], `${key} must be a non-empty string`);
      return value;
    },
    port: (fallback) => {
      const port = input['port'] ?? fallback;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw targetConfigError(['port'], 'port must be an integer between 1 and 65535');
      return port;
    },
    oneOf: (key, values, fallback) => {
      const value = input[key] ?? fallback;
      if (!values.includes(value as (typeof values)[number])) throw targetConfigError([key], `${key} must be one of ${values.join(', ')}`);
      return value as (typeof values)[number];
    },
    positive: (key, fallback) => {
      const value = input[key] ?? fallback;
      if (typeof value !== 'number' || value <= 0) throw targetConfigError([key], `${key} must be a positive number`);
      return value;
    },
  };
}

/** A configuration error at `path` within the connection's `target`. */
export function targetConfigError(path: readonly (string | number)[], message: string): WardenError {
  return new WardenError('config', message, { path });
}
