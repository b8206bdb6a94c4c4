import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { AccessLevel, ClientInfo, Credential, GatewayServices, Ruling, Session } from './adapter';
import type { AuditEvent, AuditSink } from './audit/audit-event';
import { systemClock, type Clock } from './clock';
import { WardenError, toWardenError } from './errors';
import type { CommandEvent, CommandInput, Decision, Identity, Protocol, ResultSummary, SessionEndReason } from './events';
import type { Logger } from './log';
import type { PolicyEngine } from './policy/policy-engine';

/** Anything that turns a bearer token into a verified identity (the core's `TokenVerifier`). */
export interface IdentityVerifier {
  verify(token: string): Promise<Identity>;
}

export interface GatewayCoreOptions {
  readonly verifier: IdentityVerifier;
  readonly policy: PolicyEngine;
  readonly audit: AuditSink;
  /** Configured connections by name. */
  readonly connections: ReadonlyMap<string, { readonly protocol: Protocol }>;
  readonly log: Logger;
  readonly clock?: Clock;
}

/**
 * The services every adapter gets: admission (identity + grant) and sessions whose `decide` is the
 * single point where policy is enforced and every command is audited.
 */
export class GatewayCore implements GatewayServices {
  private readonly clock: Clock;

  constructor(private readonly options: GatewayCoreOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async admit(connection: string, credential: Credential, client: ClientInfo): Promise<Session> {
    const { audit, log, policy } = this.options;
    const spec = this.options.connections.get(connection);
    if (!spec) throw new WardenError('internal', `unknown connection ${connection}`);
    if (audit.failed) throw new WardenError('audit-unavailable', 'the audit log cannot be written; Warden refuses new sessions');

    const refuse = async (code: 'unauthenticated' | 'forbidden', reason: string, subject?: string): Promise<never> => {
      log.warn('authentication refused', { connection, client: client.address, code, reason, subject });
      const event: AuditEvent = {
        type: 'auth.failure',
        connection,
        protocol: spec.protocol,
        clientAddress: client.address,
        code,
        reason,
        ...(client.claimedUser === undefined ? {} : { claimedUser: client.claimedUser }),
        ...(subject === undefined ? {} : { subject }),
      };
      await audit.append(event);
      throw new WardenError(code, reason);
    };

    let identity: Identity;
    try {
      identity = await this.options.verifier.verify(credential.token);
    } catch (error) {
      const wardenError = toWardenError(error);
      const reason = wardenError.code === 'unauthenticated' ? wardenError.message : 'the credential could not be verified';
      if (wardenError.code !== 'unauthenticated') log.error('token verification failed', { connection, error: wardenError.message });
      return refuse('unauthenticated', reason, unverifiedSubject(credential.token));
    }

    const access = policy.accessFor(identity, connection);
    if (access === undefined) {
      return refuse('forbidden', `${identity.subject} has no grant for connection ${connection}`, identity.subject);
    }

    const session = new CoreSession({
      id: randomUUID(),
      identity,
      connection,
      protocol: spec.protocol,
      access,
      core: this.options,
      clock: this.clock,
    });
    await audit.append({
      type: 'session.start',
      sessionId: session.id,
      identity,
      connection,
      protocol: spec.protocol,
      clientAddress: client.address,
      access,
      ...(client.application ? { clientApplication: client.application } : {}),
    });
    log.info('session started', { session: session.id, connection, subject: identity.subject, kind: identity.kind, access });
    return session;
  }
}

/** Reads `sub` from a token without trusting it, so that refusals name who claimed to connect. */
function unverifiedSubject(token: string): string | undefined {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === 'string' ? sub.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

interface CoreSessionInit {
  readonly id: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly protocol: Protocol;
  readonly access: AccessLevel;
  readonly core: GatewayCoreOptions;
  readonly clock: Clock;
}

class CoreSession implements Session {
  readonly id: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly access: AccessLevel;
  private readonly protocol: Protocol;
  private readonly core: GatewayCoreOptions;
  private readonly clock: Clock;
  private seq = 0;
  private blocked = 0;
  private rows = 0;
  private ending: Promise<void> | undefined;

  constructor(init: CoreSessionInit) {
    this.id = init.id;
    this.identity = init.identity;
    this.connection = init.connection;
    this.access = init.access;
    this.protocol = init.protocol;
    this.core = init.core;
    this.clock = init.clock;
  }

  async decide(input: CommandInput): Promise<Ruling> {
    const { audit, policy } = this.core;
    if (this.ending) throw new WardenError('protocol', 'the session has ended');
    if (audit.failed) throw new WardenError('audit-unavailable', 'the audit log cannot be written; Warden refuses commands');

    const seq = ++this.seq;
    const context = { identity: this.identity, connection: this.connection, protocol: this.protocol, access: this.access };
    const decision = withoutUnavailableReview(policy.decide(context, input.classification, input.text));
    if (decision.effect !== 'allow') this.blocked++;

    const command: CommandEvent = { ...input, sessionId: this.id, seq, protocol: this.protocol, connection: this.connection, at: this.clock.now() };
    const durable = audit
      .append({
        type: 'command',
        sessionId: this.id,
        commandSeq: seq,
        text: input.text,
        classification: input.classification,
        decision,
        ...(input.detail ? { detail: input.detail } : {}),
      })
      .then(() => undefined);
    // The adapter observes `durable`; this keeps an unobserved failure from crashing the process.
    durable.catch(() => undefined);
    return { command, decision, durable };
  }

  recordResult(seq: number, summary: ResultSummary): void {
    this.rows += summary.rows;
    this.core.audit.append({ type: 'result', sessionId: this.id, commandSeq: seq, summary }).catch(() => undefined);
  }

  recordEvent(name: string, detail?: Readonly<Record<string, string | number | boolean>>): void {
    this.core.audit.append({ type: 'session.event', sessionId: this.id, name, ...(detail ? { detail } : {}) }).catch(() => undefined);
  }

  end(reason: SessionEndReason, error?: string): Promise<void> {
    this.ending ??= this.core.audit
      .append({
        type: 'session.end',
        sessionId: this.id,
        reason,
        totals: { commands: this.seq, blocked: this.blocked, rows: this.rows },
        ...(error ? { error } : {}),
      })
      .then(
        () => this.core.log.info('session ended', { session: this.id, reason, commands: this.seq }),
        (cause: unknown) => this.core.log.error('session end not audited', { session: this.id, error: toWardenError(cause).message }),
      );
    return this.ending;
  }
}

/**
 * Until the approvals service is wired in, a command that needs an approval cannot get one, so it
 * is refused (fail closed) with a reason that says so.
 */
function withoutUnavailableReview(decision: Decision): Decision {
  if (decision.effect !== 'review') return decision;
  return {
    effect: 'block',
    rule: decision.rule,
    reason: `${decision.reason}: it requires an approval, and approvals are not enabled on this gateway`,
  };
}
