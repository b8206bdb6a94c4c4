/**
 * Reading the evidence is itself audited: `sessions list/show`, `replay` and `audit export` append
 * an `evidence.read` record before they show anything (fail closed: no record, no output).
 *
 * The CLI runs in its own process, and two processes appending to one log would fork its chain.
 * So the record is written by exactly one writer:
 * 1. a running gateway, through its admin API (`POST /v1/audit/evidence-read`), when the config has
 *    `admin.listen` and the caller gives a token — the recorded `by` is then the verified subject;
 * 2. otherwise the CLI itself, after taking the log's exclusive lock (`audit.lock`), which a running
 *    gateway holds for as long as it runs. If the gateway runs but cannot be reached through its
 *    admin API, the lock is held and the read is refused, saying why.
 */
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { FileAuditLog, loadOrCreateSigningKey, SIGNING_KEY_FILE, WardenError, type AuditEvent, type AuditSink, type Identity } from '@warden/core';
import type { EvidenceContext } from './evidence-context';

type EvidenceReadEvent = Extract<AuditEvent, { type: 'evidence.read' }>;
export type EvidenceAction = EvidenceReadEvent['action'];

export interface Reader {
  /** `--as NAME`: who reads, as the operator says (not verified). */
  readonly as?: string | undefined;
  /** `--token`: an OIDC token the running gateway verifies. */
  readonly token?: string | undefined;
}

export const READER_OPTIONS = {
  as: { type: 'string' },
  token: { type: 'string' },
} as const;

const ACTIONS: ReadonlySet<string> = new Set(['sessions.list', 'sessions.show', 'replay', 'export']);

/** Record the read; resolves with how it was recorded. Throws (and the caller shows nothing) when it cannot be recorded. */
export async function recordEvidenceRead(context: EvidenceContext, action: EvidenceAction, target: Readonly<Record<string, string>>, reader: Reader, env: NodeJS.ProcessEnv = process.env): Promise<'gateway' | 'local'> {
  const osUser = safeOsUser();
  const host = hostname();
  const token = reader.token ?? env['WARDEN_TOKEN'];
  if (context.adminUrl && token) {
    const sent = await postToGateway(context.adminUrl, token, { action, target, osUser, host });
    if (sent) return 'gateway';
  }
  const by = reader.as ? { by: reader.as, byKind: 'as' as const } : token ? { by: `unverified:${claimedSubject(token)}`, byKind: 'as' as const } : { by: osUser, byKind: 'os-user' as const };
  let log: FileAuditLog;
  try {
    const signing = existsSync(path.join(context.dataDir, SIGNING_KEY_FILE)) ? await loadOrCreateSigningKey(context.dataDir, context.keyId) : undefined;
    log = await FileAuditLog.open({ dir: context.dataDir, ...(context.segmentBytes ? { segmentBytes: context.segmentBytes } : {}), lockOwner: `warden CLI (${osUser})`, ...(signing ? { checkpoints: { key: signing, everyRecords: 1000, everySeconds: 3600 } } : {}) });
  } catch (error) {
    const cause = error instanceof WardenError ? error.cause : undefined;
    if (cause instanceof WardenError && cause.code === 'conflict') {
      throw new WardenError(
        'audit-unavailable',
        `reading the evidence must be audited, and ${cause.message}. While the gateway runs, reads are recorded through its admin API: configure admin.listen, pass --config and a token (--token or WARDEN_TOKEN).`,
        { cause: error },
      );
    }
    throw error;
  }
  try {
    await log.append({ type: 'evidence.read', action, ...by, osUser, host, target });
  } finally {
    await log.close();
  }
  return 'local';
}

/** The admin API side: record a read made by a verified caller. */
export function evidenceReadHandler(audit: AuditSink): (caller: Identity, body: Readonly<Record<string, unknown>>) => Promise<unknown> {
  return async (caller, body) => {
    const action = body['action'];
    if (typeof action !== 'string' || !ACTIONS.has(action)) throw new WardenError('config', `action must be one of ${[...ACTIONS].join(', ')}`);
    const target = Object.fromEntries(
      Object.entries(typeof body['target'] === 'object' && body['target'] !== null ? (body['target'] as Record<string, unknown>) : {})
        .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
        .slice(0, 20)
        .map(([key, value]) => [key.slice(0, 50), value.slice(0, 500)]),
    );
    const receipt = await audit.append({
      type: 'evidence.read',
      action: action as EvidenceAction,
      by: caller.subject,
      byKind: 'token',
      osUser: String(body['osUser'] ?? '').slice(0, 100),
      host: String(body['host'] ?? '').slice(0, 200),
      target,
    });
    return { recorded: receipt.seq };
  };
}

/** True when recorded; false when no gateway listens there (then the CLI records it itself). */
async function postToGateway(adminUrl: string, token: string, body: unknown): Promise<boolean> {
  let response: Response;
  try {
    response = await fetch(`${adminUrl}/v1/audit/evidence-read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') return false;
    throw new WardenError('audit-unavailable', `cannot record the read through the gateway's admin API at ${adminUrl}: ${code ?? (error as Error).message}`, { cause: error });
  }
  if (response.ok) return true;
  const text = await response.text().catch(() => '');
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // not JSON
  }
  throw new WardenError(response.status === 401 ? 'unauthenticated' : 'audit-unavailable', `the gateway did not record the read (HTTP ${response.status}): ${message}`);
}

function claimedSubject(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub.slice(0, 200) : 'unknown';
  } catch {
    return 'unknown';
  }
}

function safeOsUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}
