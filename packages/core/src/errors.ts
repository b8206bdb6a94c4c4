/**
 * The one error type the core throws. Adapters translate it into their protocol's native error
 * (a Postgres ErrorResponse, a MySQL ERR packet, a Kubernetes Status, a line on SSH stderr).
 */
export type WardenErrorCode =
  /** The configuration is invalid; `path` says where. */
  | 'config'
  /** The credential is missing, malformed, expired, or not signed by a trusted issuer. */
  | 'unauthenticated'
  /** The identity is valid but has no grant for this connection. */
  | 'forbidden'
  /** The audit store cannot record: everything is refused until it can (fail closed). */
  | 'audit-unavailable'
  /** The client broke the protocol (bad framing, oversized message, unexpected message). */
  | 'protocol'
  /** The target refused Warden or could not be reached. */
  | 'target-unavailable'
  /** A limit was hit (sizes, timeouts, concurrency). */
  | 'limit'
  /** A value could not be masked: the result is refused rather than passed on raw (fail closed). */
  | 'masking'
  /** A named thing (an approval request, …) does not exist, or is not visible to the caller. */
  | 'not-found'
  /** The thing exists but is not in a state that allows the operation (an approval already decided). */
  | 'conflict'
  | 'internal';

export class WardenError extends Error {
  override readonly name = 'WardenError';
  readonly code: WardenErrorCode;
  /** For `config` errors: where in the configuration, as property names and array indexes. */
  readonly path?: readonly (string | number)[];

  constructor(code: WardenErrorCode, message: string, options?: { cause?: unknown; path?: readonly (string | number)[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.path) this.path = options.path;
  }
}

/** Narrow an unknown thrown value to a WardenError, wrapping anything else as `internal`. */
export function toWardenError(error: unknown): WardenError {
  if (error instanceof WardenError) return error;
  return new WardenError('internal', error instanceof Error ? error.message : String(error), { cause: error });
}
