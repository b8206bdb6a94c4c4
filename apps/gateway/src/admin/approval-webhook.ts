import type { ApprovalRequest } from '@warden/core';

export interface ApprovalWebhookConfig {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** How long a webhook call may take before it is given up (the request stands either way). */
const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * Tells a webhook (e.g. a Slack incoming webhook) about a new approval request: a JSON POST with a
 * one-paragraph `text` and the request itself. The command text is included as the client sent it
 * (approvers need it); it holds no result data.
 */
export function approvalWebhook(config: ApprovalWebhookConfig): (request: ApprovalRequest) => Promise<void> {
  return async (request) => {
    const response = await fetch(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...config.headers },
      body: JSON.stringify({ text: summarizeRequest(request), request }),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
  };
}

/** One paragraph for people: who wants to run what, where, why it is held, and how to decide. */
export function summarizeRequest(request: ApprovalRequest): string {
  const who = `${request.requester.subject}${request.requester.kind === 'agent' ? ' (agent)' : ''}`;
  const columns = request.columns && request.columns.length > 0 ? ` (columns ${request.columns.join(', ')})` : '';
  const touches = request.objects.length > 0 ? ` touching ${request.objects.join(', ')}${columns}` : '';
  const estimate = request.estimate?.rows !== undefined ? `, about ${request.estimate.rows} row(s) by ${request.estimate.source}` : '';
  const command = request.text.length > 500 ? `${request.text.slice(0, 500)}…` : request.text;
  return (
    `Warden approval request ${request.id}: ${who} wants to run a ${request.bulk ? 'bulk ' : ''}${request.action}${touches}${estimate} on ${request.connection} ` +
    `(rule "${request.rule}": ${request.reason}). Approvers: ${request.approvers.join(', ')}. Expires ${request.expiresAt}.\n` +
    `${command}\n` +
    `Decide: warden approvals approve ${request.id} | warden approvals deny ${request.id} --reason "…"`
  );
}
