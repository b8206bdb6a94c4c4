import { parseArgs } from 'node:util';
import type { ApprovalRequest } from '@warden/core';

export const APPROVALS_USAGE = `  warden approvals list [--status pending|approved|denied|expired|used]
  warden approvals show ID
  warden approvals approve ID [--reason TEXT]
  warden approvals deny ID --reason TEXT
                                        decide just-in-time approval requests through the
                                        admin API (--url, default $WARDEN_ADMIN_URL or
                                        http://127.0.0.1:15480) with your OIDC token
                                        (--token, default $WARDEN_TOKEN)
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** `warden approvals …`: a thin client of the admin HTTP API. Exit 0 on success, 1 when refused, 2 on usage errors. */
export async function approvalsCommand(args: readonly string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [subcommand, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      status: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const base = (values.url ?? env['WARDEN_ADMIN_URL'] ?? 'http://127.0.0.1:15480').replace(/\/+$/, '');
  const token = values.token ?? env['WARDEN_TOKEN'];
  if (!token) {
    io.err('warden approvals: an OIDC access token is required (--token or WARDEN_TOKEN)\n');
    return 2;
  }
  const id = positionals[0];
  let call: { method: 'GET' | 'POST'; path: string; body?: unknown };
  switch (subcommand) {
    case 'list':
      call = { method: 'GET', path: `/v1/approvals${values.status ? `?status=${encodeURIComponent(values.status)}` : ''}` };
      break;
    case 'show':
    case 'approve':
    case 'deny':
      if (!id) {
        io.err(`warden approvals ${subcommand}: the request id is required\n`);
        return 2;
      }
      if (subcommand === 'deny' && !values.reason) {
        io.err('warden approvals deny: --reason is required\n');
        return 2;
      }
      call =
        subcommand === 'show'
          ? { method: 'GET', path: `/v1/approvals/${encodeURIComponent(id)}` }
          : { method: 'POST', path: `/v1/approvals/${encodeURIComponent(id)}/${subcommand}`, body: values.reason ? { reason: values.reason } : {} };
      break;
    default:
      io.err(`warden approvals: unknown subcommand "${subcommand ?? ''}" (available: list, show, approve, deny)\n`);
      return 2;
  }

  let response: Response;
  try {
    response = await fetch(`${base}${call.path}`, {
      method: call.method,
      headers: { authorization: `Bearer ${token}`, ...(call.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    io.err(`warden approvals: cannot reach the admin API at ${base}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const payload = (await response.json().catch(() => ({}))) as { error?: { message?: string }; requests?: ApprovalRequest[] } & Partial<ApprovalRequest>;
  if (!response.ok) {
    io.err(`warden approvals: ${payload.error?.message ?? `the admin API answered ${response.status}`}\n`);
    return 1;
  }
  if (values.json) {
    io.out(`${JSON.stringify(payload, null, 2)}\n`);
    return 0;
  }
  if (subcommand === 'list') {
    const requests = payload.requests ?? [];
    io.out(requests.length === 0 ? 'no approval requests\n' : `${requests.map(oneLine).join('\n')}\n`);
  } else {
    io.out(describe(payload as ApprovalRequest));
  }
  return 0;
}

function oneLine(request: ApprovalRequest): string {
  const text = request.text.replace(/\s+/g, ' ');
  return `${request.id}  ${request.status.padEnd(8)}  ${request.connection}  ${request.requester.subject}  ${request.rule}  ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`;
}

function describe(request: ApprovalRequest): string {
  const lines = [
    `request    ${request.id} (${request.status})`,
    `requester  ${request.requester.subject}${request.requester.kind === 'agent' ? ' (agent)' : ''}, groups ${request.requester.groups.join(', ') || '-'}`,
    `connection ${request.connection} (${request.protocol})`,
    `command    ${request.text}`,
    `action     ${request.bulk ? 'bulk ' : ''}${request.action}${request.objects.length > 0 ? ` on ${request.objects.join(', ')}` : ''}`,
    `columns    ${request.columns && request.columns.length > 0 ? request.columns.join(', ') : '-'}`,
    `estimate   ${request.estimate ? `${request.estimate.rows ?? '?'} row(s) (${request.estimate.source})` : 'none'}`,
    `rule       ${request.rule}: ${request.reason}`,
    `approvers  ${request.approvers.join(', ')}`,
    `mode       ${request.mode}`,
    `created    ${request.createdAt}, expires ${request.expiresAt}`,
  ];
  if (request.decidedBy) lines.push(`decided    by ${request.decidedBy} at ${request.decidedAt ?? '?'}${request.decisionReason ? `: ${request.decisionReason}` : ''}`);
  if (request.usedBy) lines.push(`used by    session ${request.usedBy}`);
  return `${lines.join('\n')}\n`;
}
