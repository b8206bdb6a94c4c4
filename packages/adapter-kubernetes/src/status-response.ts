/**
 * Refusals in the Kubernetes API's own error format, a `Status` object
 * (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/), which kubectl
 * prints as `Error from server (Forbidden): <message>`.
 */
import type { Decision } from '@warden/core';

/** HTTP code → the `reason` kube-apiserver sends with it. */
export const STATUS_REASONS = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'RequestEntityTooLarge',
  500: 'InternalError',
  502: 'InternalError',
  503: 'ServiceUnavailable',
} as const;
export type StatusCode = keyof typeof STATUS_REASONS;

export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: (typeof STATUS_REASONS)[StatusCode];
  readonly code: StatusCode;
}

/** A failure `Status`; the message is shown to the client as is, so it never carries data. */
export function kubeStatus(code: StatusCode, message: string): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: STATUS_REASONS[code], code };
}

/** The Status for a command policy refused or holds for approval. */
export function refusalStatus(decision: Exclude<Decision, { effect: 'allow' }>): KubeStatus {
  if (decision.effect === 'review') {
    return kubeStatus(403, `Warden: ${decision.reason} (rule "${decision.rule}"); approval request ${decision.requestId} is pending, retry once it is approved`);
  }
  return kubeStatus(403, `Warden: ${decision.reason} (rule "${decision.rule}")`);
}

/** Serialized, for an HTTP body. */
export function statusBody(status: KubeStatus): string {
  return JSON.stringify(status);
}
