import { randomBytes } from 'node:crypto';
import { WardenError, type Classification, type CommandInput } from '@warden/core';
import { errorResponse } from './backend-messages';
import { BackendCode, FrontendCode, SqlState } from './message-codes';

/**
 * Warden owns the extended protocol's names (prepared statements and portals) on the target, so
 * that what Warden decided is what the target runs, whatever the client pipelines.
 *
 * Every Parse and every Bind the client sends reaches the target under a name Warden made, unique
 * in the session and never reused (`warden_s_12_<random>`; `warden_su_…` for an unnamed one), the
 * client's unnamed "" ones included.
 * A Bind, Describe, Execute or Close names the target object of the client's latest Parse or Bind
 * of that name. Because a target name is bound to exactly one text for ever, the target either
 * runs the text Warden decided or fails — a Parse the target rejected or skipped cannot leave it
 * holding something else under the name Warden uses:
 *   - a Parse that fails ("already exists", an error earlier in the batch) never creates its name,
 *     so a later Bind of it fails at the target, even across a Sync;
 *   - a skipped Close leaves the old object in place and Warden's map is put back to it.
 * The names carry random bits: a client that reads them from `pg_prepared_statements` cannot
 * create the next one in advance (with SQL PREPARE, or a PL/pgSQL cursor) to slip its own in.
 *
 * Names the client never prepared or bound are refused here with PostgreSQL's own error (26000,
 * 34000, 42P05), and each refusal carries the command the core audits it as (`Execute portal "x"`);
 * the client's view follows the target's answers (ParseComplete, BindComplete,
 * CloseComplete in order; an ErrorResponse cancels what the target skips up to the next Sync).
 *
 * Free of sockets: the relay hands it each message it writes to the target and each message the
 * target answers; it returns the bytes to send, and what to do with the answer.
 */

/** A statement text the client prepared (Parse), as the target holds it under `target`. */
export interface PreparedStatement {
  readonly client: string;
  readonly target: string;
  readonly text: string;
  readonly classification: Classification;
  /** Its place in the session's sequence of Warden names (see `mark`). */
  readonly seq: number;
}

/** A portal the client bound to a prepared statement, as the target holds it under `target`. */
export interface BoundPortal {
  readonly client: string;
  readonly target: string;
  readonly statement: PreparedStatement;
  readonly seq: number;
  /** The Sync (or Query) count when it was bound: at the ReadyForQuery of that batch or a later one, an idle session has no portals. */
  readonly batch: number;
}

/**
 * Refuse: answer `reply` (PostgreSQL's own error) in the message's place (the relay's refusal) and
 * skip to Sync, once `command` is audited as refused for `reason` (`Session.refuse`).
 */
export interface RefuseStep {
  readonly action: 'refuse';
  readonly reply: Buffer;
  readonly command: CommandInput;
  readonly reason: string;
}

/** What to do with a client message. */
export type ClientStep =
  /** Send `bytes` to the target instead of the client's message (names rewritten, maybe a Close first). */
  | { readonly action: 'send'; readonly bytes: Buffer }
  | RefuseStep;

/** A Bind: the portal it makes. */
export type BindStep = { readonly action: 'send'; readonly bytes: Buffer; readonly portal: BoundPortal } | RefuseStep;

/** An Execute: the portal it runs and the bytes that run it. */
export type ExecuteStep = { readonly action: 'execute'; readonly bytes: Buffer; readonly portal: BoundPortal } | RefuseStep;

/** What to do with a target message. */
export type TargetStep =
  | { readonly action: 'forward' }
  /** An answer to a message Warden added (a Close of the object a new unnamed one replaces). */
  | { readonly action: 'swallow' }
  /** An ErrorResponse that named Warden's objects, with the client's names instead. */
  | { readonly action: 'replace'; readonly bytes: Buffer };

/** Prepared statements and portals have a namespace each. */
export type Space = 'statement' | 'portal';

/** A message sent to the target whose answer is still to come, in the order sent. */
type Pending =
  | { readonly kind: 'parse'; readonly entry: PreparedStatement; readonly previous: PreparedStatement | undefined }
  | { readonly kind: 'bind'; readonly entry: BoundPortal; readonly previous: BoundPortal | undefined }
  /** `entry` undefined: a Close of a name nobody holds (answered CloseComplete, as PostgreSQL does). */
  | { readonly kind: 'close'; readonly space: Space; readonly entry: PreparedStatement | BoundPortal | undefined; readonly injected: boolean }
  /** Describe, Execute, a refusal: extended-protocol messages without names to confirm. */
  | { readonly kind: 'other' }
  /** Sync, or a simple Query / FunctionCall: answered by ReadyForQuery. */
  | { readonly kind: 'sync'; readonly batch: number; readonly simple: boolean };

const FORWARD: TargetStep = { action: 'forward' };
const SWALLOW: TargetStep = { action: 'swallow' };
const OTHER: Pending = { kind: 'other' };

/** Target names that error texts may still mention, kept for translating them back (up to twice as many). */
const REMEMBERED_NAMES = 10_000;
const NAME_PATTERN = /warden_[sp]u?_\d+_[0-9a-f]{16}/g;

export class StatementNames {
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, BoundPortal>();
  private readonly pending: Pending[] = [];
  /**
   * Target name → the client's name, for error texts; two generations, the older dropped whole when
   * the newer is full (deleting a Map's oldest key one at a time gets slower and slower in V8).
   */
  private clientNames = new Map<string, string>();
  private olderClientNames = new Map<string, string>();
  private counter = 0;
  private batch = 0;
  private random = Buffer.alloc(0);
  private randomAt = 0;

  /**
   * @param classify the classification of a prepared text, made once per Parse
   * @param onPortalGone a portal's target object no longer exists (its result formats can go)
   */
  constructor(
    private readonly classify: (text: string) => Classification,
    private readonly onPortalGone: (target: string) => void = () => undefined,
  ) {}

  /** The client's prepared statement `name` as Warden last saw it (its target name, for SQL DEALLOCATE). */
  statement(name: string): PreparedStatement | undefined {
    return this.statements.get(name);
  }

  /** The client's portal `name` as Warden last saw it. */
  portal(name: string): BoundPortal | undefined {
    return this.portals.get(name);
  }

  /** Parse: 'P' | int32 len | cstring statement | cstring query | int16 n | int32 × n */
  parse(buffer: Buffer, start: number, end: number): ClientStep {
    const name = readCString(buffer, start + 5, end);
    const text = readCString(buffer, name.next, end).value;
    const previous = this.statements.get(name.value);
    if (previous && name.value !== '') return this.refusal(SqlState.DuplicatePreparedStatement, `prepared statement "${name.value}" already exists`, 'Parse', `Parse ${statementLabel(name.value)}`);
    const entry: PreparedStatement = { client: name.value, target: this.newName('s', name.value), text, classification: this.classify(text), seq: this.counter };
    const parse = rewrite(buffer, start, end, start + 5, [entry.target]);
    this.statements.set(name.value, entry);
    if (!previous) {
      this.pending.push({ kind: 'parse', entry, previous });
      return { action: 'send', bytes: parse };
    }
    // A new unnamed statement replaces the old one, on the target too (or they would pile up there).
    this.pending.push({ kind: 'close', space: 'statement', entry: previous, injected: true }, { kind: 'parse', entry, previous });
    return { action: 'send', bytes: Buffer.concat([closeMessage('S', previous.target), parse]) };
  }

  /** Bind: 'B' | int32 len | cstring portal | cstring statement | parameters and formats */
  bind(buffer: Buffer, start: number, end: number): BindStep {
    const portal = readCString(buffer, start + 5, end);
    const statementName = readCString(buffer, portal.next, end).value;
    const statement = this.statements.get(statementName);
    if (!statement) return this.refusal(SqlState.InvalidSqlStatementName, statementMissing(statementName), 'Bind', `Bind ${portalLabel(portal.value)} to ${statementLabel(statementName)}`);
    const previous = this.portals.get(portal.value);
    const entry: BoundPortal = { client: portal.value, target: this.newName('p', portal.value), statement, batch: this.batch, seq: this.counter };
    const bind = rewrite(buffer, start, end, start + 5, [entry.target, statement.target]);
    this.portals.set(portal.value, entry);
    // A named portal that exists makes PostgreSQL fail the Bind; Warden's fresh name does not, and
    // the client's name then means the new portal (a portal ends with its transaction anyway).
    if (!previous) {
      this.pending.push({ kind: 'bind', entry, previous });
      return { action: 'send', bytes: bind, portal: entry };
    }
    this.pending.push({ kind: 'close', space: 'portal', entry: previous, injected: true }, { kind: 'bind', entry, previous });
    return { action: 'send', bytes: Buffer.concat([closeMessage('P', previous.target), bind]), portal: entry };
  }

  /** Execute: 'E' | int32 len | cstring portal | int32 max rows */
  execute(buffer: Buffer, start: number, end: number): ExecuteStep {
    const name = readCString(buffer, start + 5, end).value;
    const portal = this.portals.get(name);
    if (!portal) return this.refusal(SqlState.InvalidCursorName, portalMissing(name), 'Execute', `Execute ${portalLabel(name)}`);
    this.pending.push(OTHER);
    return { action: 'execute', bytes: rewrite(buffer, start, end, start + 5, [portal.target]), portal };
  }

  /** Describe: 'D' | int32 len | byte 'S' or 'P' | cstring name */
  describe(buffer: Buffer, start: number, end: number): ClientStep {
    const { kind, name } = readTarget(buffer, start, end);
    const entry = kind === 'S' ? this.statements.get(name) : this.portals.get(name);
    if (!entry) {
      return kind === 'S'
        ? this.refusal(SqlState.InvalidSqlStatementName, statementMissing(name), 'Describe', `Describe ${statementLabel(name)}`)
        : this.refusal(SqlState.InvalidCursorName, portalMissing(name), 'Describe', `Describe ${portalLabel(name)}`);
    }
    this.pending.push(OTHER);
    return { action: 'send', bytes: rewrite(buffer, start, end, start + 6, [entry.target]) };
  }

  /** Close: 'C' | int32 len | byte 'S' or 'P' | cstring name. Closing a name nobody holds is not an error. */
  close(buffer: Buffer, start: number, end: number): ClientStep {
    const { kind, name } = readTarget(buffer, start, end);
    const space: Space = kind === 'S' ? 'statement' : 'portal';
    const entry = kind === 'S' ? this.statements.get(name) : this.portals.get(name);
    if (entry) (kind === 'S' ? this.statements : this.portals).delete(name);
    // A name that was never handed out: the target answers CloseComplete and closes nothing of the client's.
    const target = entry ? entry.target : this.newName(kind === 'S' ? 's' : 'p', undefined);
    this.pending.push({ kind: 'close', space, entry, injected: false });
    return { action: 'send', bytes: closeMessage(kind, target) };
  }

  /** A Sync was sent (or a simple Query or FunctionCall: `simple`), answered by ReadyForQuery. */
  sync(simple = false): void {
    this.pending.push({ kind: 'sync', batch: this.batch++, simple });
  }

  /** An extended-protocol message Warden sent in place of a refused one (it fails at the target). */
  refused(): void {
    this.pending.push(OTHER);
  }

  /** Where the session's names are now: `forget` ends what was made up to here. */
  mark(): number {
    return this.counter;
  }

  /**
   * A SQL statement the target confirmed ended every prepared statement (DEALLOCATE ALL, DISCARD
   * ALL) or portal (CLOSE ALL, DISCARD ALL), those made up to `mark` (what the client sent after
   * it still exists).
   */
  forget(space: Space, mark: number): void {
    const map: Map<string, PreparedStatement | BoundPortal> = space === 'statement' ? this.statements : this.portals;
    for (const [name, entry] of map) {
      if (entry.seq > mark) continue;
      map.delete(name);
      if (space === 'portal') this.onPortalGone(entry.target);
    }
  }

  /**
   * The target confirmed a SQL DEALLOCATE of the statement the client calls `name` (sent with the
   * target name `target`): the name is free again, unless the client made it mean something newer since.
   */
  deallocated(name: string, target: string): void {
    if (this.statements.get(name)?.target === target) this.statements.delete(name);
  }

  /** One target message, in order. */
  target(code: number, buffer: Buffer, start: number, end: number): TargetStep {
    switch (code) {
      case BackendCode.ParseComplete:
      case BackendCode.BindComplete:
      case BackendCode.CloseComplete:
        return this.confirmed(code);
      case BackendCode.RowDescription:
      case BackendCode.NoData:
      case BackendCode.CommandComplete:
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
        // The end of a Describe's or an Execute's answer (a simple Query's are followed by ReadyForQuery).
        if (this.pending[0]?.kind === 'other') this.pending.shift();
        return FORWARD;
      case BackendCode.ErrorResponse:
        this.failed();
        return this.translated(buffer, start, end);
      case BackendCode.ReadyForQuery:
        this.ready(buffer[start + 5]);
        return FORWARD;
      default:
        return FORWARD;
    }
  }

  private confirmed(code: number): TargetStep {
    const expected = code === BackendCode.ParseComplete ? 'parse' : code === BackendCode.BindComplete ? 'bind' : 'close';
    const head = this.pending.shift();
    if (!head || head.kind !== expected) throw new WardenError('protocol', `the target answered ${expected} to a message Warden did not send it`);
    if (head.kind !== 'close') return FORWARD;
    // Its name stays in `clientNames`: a later Parse may fail and give the client's name back to it.
    if (head.entry && head.space === 'portal') this.onPortalGone(head.entry.target);
    return head.injected ? SWALLOW : FORWARD;
  }

  /**
   * An ErrorResponse. In a simple Query it ends that Query (ReadyForQuery follows); in the extended
   * protocol the target skips everything up to the next Sync: those messages never happened.
   */
  private failed(): void {
    const head = this.pending[0];
    if (!head || head.kind === 'sync') return;
    let syncAt = this.pending.findIndex((pending) => pending.kind === 'sync' && !pending.simple);
    if (syncAt === -1) syncAt = this.pending.length;
    const skipped = this.pending.splice(0, syncAt);
    // Undone newest first, each only where nothing newer took the name since.
    for (let i = skipped.length - 1; i >= 0; i--) this.undo(skipped[i]!);
  }

  private undo(pending: Pending): void {
    switch (pending.kind) {
      case 'parse':
        if (this.statements.get(pending.entry.client) === pending.entry) {
          if (pending.previous) this.statements.set(pending.entry.client, pending.previous);
          else this.statements.delete(pending.entry.client);
        }
        break;
      case 'bind':
        this.onPortalGone(pending.entry.target);
        if (this.portals.get(pending.entry.client) === pending.entry) {
          if (pending.previous) this.portals.set(pending.entry.client, pending.previous);
          else this.portals.delete(pending.entry.client);
        }
        break;
      case 'close': {
        // The object still exists on the target: the client's name means it again, if still free.
        const entry = pending.entry;
        if (!entry || pending.injected) break;
        const map: Map<string, PreparedStatement | BoundPortal> = pending.space === 'statement' ? this.statements : this.portals;
        if (!map.has(entry.client)) map.set(entry.client, entry);
        break;
      }
      default:
        break;
    }
  }

  private ready(status: number | undefined): void {
    let sync = this.pending[0];
    if (sync?.kind === 'sync') this.pending.shift();
    else {
      const syncAt = this.pending.findIndex((pending) => pending.kind === 'sync');
      if (syncAt === -1) return;
      sync = this.pending[syncAt]!;
      // Unanswered messages before it were skipped after an error the target reported earlier.
      const skipped = this.pending.splice(0, syncAt + 1);
      for (let i = skipped.length - 2; i >= 0; i--) this.undo(skipped[i]!);
    }
    // Idle: the transaction ended, and every portal with it (protocol portals are never WITH HOLD).
    if (status !== 0x49 /* I */ || this.portals.size === 0 || sync.kind !== 'sync') return;
    for (const [name, portal] of this.portals) {
      if (portal.batch > sync.batch) continue;
      this.portals.delete(name);
      this.onPortalGone(portal.target);
    }
  }

  /** The target's error with the client's names in place of Warden's. */
  private translated(buffer: Buffer, start: number, end: number): TargetStep {
    const at = buffer.indexOf('warden_', start + 5);
    if (at === -1 || at >= end) return FORWARD;
    const fields: Array<{ type: number; value: string }> = [];
    let offset = start + 5;
    while (offset < end && buffer[offset] !== 0) {
      const value = readCString(buffer, offset + 1, end);
      fields.push({ type: buffer[offset]!, value: value.value });
      offset = value.next;
    }
    const text = (value: string): string =>
      value.replace(/(unnamed )?prepared statement "(warden_su?_\d+_[0-9a-f]{16})"/g, (whole, _unnamed, target: string) => {
        const client = this.clientName(target);
        return client === undefined ? whole : client === '' ? 'unnamed prepared statement' : `prepared statement "${client}"`;
      }).replace(NAME_PATTERN, (target) => this.clientName(target) ?? target);
    const out: Buffer[] = [];
    for (const field of fields) out.push(Buffer.from([field.type]), Buffer.from(`${text(field.value)}\0`, 'utf8'));
    out.push(Buffer.from([0]));
    const body = Buffer.concat(out);
    const message = Buffer.allocUnsafe(5 + body.length);
    message[0] = BackendCode.ErrorResponse;
    message.writeInt32BE(4 + body.length, 1);
    body.copy(message, 5);
    return { action: 'replace', bytes: message };
  }

  private clientName(target: string): string | undefined {
    if (target.charCodeAt(8) === 0x75 /* u: warden_su_…, warden_pu_… */) return '';
    return this.clientNames.get(target) ?? this.olderClientNames.get(target);
  }

  /** PostgreSQL's error `message` for the client's `kind` message, audited as `text`. */
  private refusal(code: string, message: string, kind: 'Parse' | 'Bind' | 'Execute' | 'Describe', text: string): RefuseStep {
    this.pending.push(OTHER);
    const command: CommandInput = { text, classification: protocolMessageClassification(kind), detail: { message: kind } };
    return { action: 'refuse', reply: errorResponse({ severity: 'ERROR', code, message }), command, reason: message };
  }

  /** A fresh target name; `client` undefined for a name no object will ever have. */
  private newName(kind: 's' | 'p', client: string | undefined): string {
    if (this.randomAt + 8 > this.random.length) {
      this.random = randomBytes(4096);
      this.randomAt = 0;
    }
    // The client's unnamed ones (most of them: node-postgres, pgbench) say so in their name: no map entry.
    const name = `warden_${kind}${client === '' ? 'u' : ''}_${++this.counter}_${this.random.toString('hex', this.randomAt, this.randomAt + 8)}`;
    this.randomAt += 8;
    if (client !== undefined && client !== '') {
      if (this.clientNames.size >= REMEMBERED_NAMES) {
        this.olderClientNames = this.clientNames;
        this.clientNames = new Map();
      }
      this.clientNames.set(name, client);
    }
    return name;
  }
}

/** Whether a name is one Warden gives the target's objects (SQL must not reach them). */
export function isWardenName(name: string): boolean {
  return name.startsWith('warden_');
}

function statementMissing(name: string): string {
  return `${statementLabel(name)} does not exist`;
}

/** PostgreSQL names even the unnamed portal in quotes here (`portal "" does not exist`). */
function portalMissing(name: string): string {
  return `portal "${name}" does not exist`;
}

/** The client's name as PostgreSQL's messages spell it. */
function statementLabel(name: string): string {
  return name === '' ? 'unnamed prepared statement' : `prepared statement "${name}"`;
}

function portalLabel(name: string): string {
  return name === '' ? 'unnamed portal' : `portal "${name}"`;
}

/**
 * A refused protocol message as the core classifies it: what an Execute of a portal nobody bound
 * would run is unknown; the others only name session objects.
 */
function protocolMessageClassification(kind: 'Parse' | 'Bind' | 'Execute' | 'Describe'): Classification {
  const action = kind === 'Execute' ? 'unknown' : 'session';
  const note = `${kind} of a name the client does not have`;
  return { action, objects: [], bulk: false, statementCount: 1, statements: [{ action, objects: [], bulk: false, note }] };
}

/** The message with its first `names.length` C strings from `at` replaced by `names`. */
function rewrite(buffer: Buffer, start: number, end: number, at: number, names: readonly string[]): Buffer {
  let offset = at;
  for (let i = 0; i < names.length; i++) offset = readCString(buffer, offset, end).next;
  const head = at - start;
  let length = head + (end - offset);
  for (const name of names) length += Buffer.byteLength(name) + 1;
  const out = Buffer.allocUnsafe(length);
  buffer.copy(out, 0, start, at);
  let to = head;
  for (const name of names) {
    to += out.write(name, to, 'utf8');
    out[to++] = 0;
  }
  buffer.copy(out, to, offset, end);
  out.writeInt32BE(length - 1, 1);
  return out;
}

/** Close: 'C' | int32 len | byte 'S' or 'P' | cstring name */
function closeMessage(kind: 'S' | 'P', name: string): Buffer {
  const length = 4 + 1 + Buffer.byteLength(name) + 1;
  const out = Buffer.allocUnsafe(1 + length);
  out[0] = FrontendCode.Close;
  out.writeInt32BE(length, 1);
  out[5] = kind.charCodeAt(0);
  out.write(name, 6, 'utf8');
  out[length] = 0;
  return out;
}

function readTarget(buffer: Buffer, start: number, end: number): { readonly kind: 'S' | 'P'; readonly name: string } {
  if (start + 6 > end) throw new WardenError('protocol', 'message too short');
  const kind = String.fromCharCode(buffer[start + 5]!);
  if (kind !== 'S' && kind !== 'P') throw new WardenError('protocol', `invalid Close/Describe target '${kind}'`);
  return { kind, name: readCString(buffer, start + 6, end).value };
}

function readCString(buffer: Buffer, offset: number, end: number): { readonly value: string; readonly next: number } {
  const zero = buffer.indexOf(0, offset);
  if (zero === -1 || zero >= end) throw new WardenError('protocol', 'unterminated string in message');
  return { value: buffer.toString('utf8', offset, zero), next: zero + 1 };
}

