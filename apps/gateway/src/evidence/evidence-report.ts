/**
 * `report.html` of an evidence bundle: the bundle's records as an auditor reads them under the
 * HIPAA Security Rule — audit controls (45 CFR 164.312(b)), integrity (164.312(c)(1)) and
 * information-system activity review (164.308(a)(1)(ii)(D)).
 *
 * One self-contained file: no script, no external style sheet, font or image; every value from the
 * log is HTML-escaped (identity names and command text come from clients). Built only from the
 * manifest and the proven records, so `check-bundle` can rebuild it and compare. It holds counts
 * of masked values by kind, never a value: command text is shown as the audit log holds it, with
 * PHI literals already replaced by placeholders.
 */
import type { AuditRecord } from '@warden/core';
import type { ConfiguredGrant } from './evidence-context';

/** What the report needs from the manifest (see `evidence-bundle.ts`). */
export interface ReportManifest {
  readonly createdAt: string;
  readonly filter: { readonly since: string; readonly until: string; readonly identity?: string | undefined };
  readonly records: number;
  readonly seqRange?: readonly [number, number];
  readonly notYetCheckpointed: number;
  readonly keyId: string;
  readonly checkpoint: { readonly size: number; readonly root: string; readonly time: string; readonly keyId: string };
  readonly files: Readonly<Record<string, string>>;
  readonly logVerification?: LogVerificationSummary;
  readonly integrity?: BundleIntegrity;
  readonly grants?: readonly ConfiguredGrant[];
}

/** `warden audit verify` of the whole log, run by the export. */
export interface LogVerificationSummary {
  readonly ok: boolean;
  readonly records: number;
  readonly segments: number;
  readonly lastHash: string;
  readonly checkpoints: number;
  readonly latestCheckpoint?: { readonly size: number; readonly time: string; readonly keyId: string };
  readonly recordings: number;
  readonly problems: readonly string[];
  /** A record being written while the export read the log (not a defect). */
  readonly inFlight?: boolean;
}

/** The bundle's own checks, made by the export (and again by `check-bundle`). */
export interface BundleIntegrity {
  readonly signatureValid: boolean;
  readonly proofsValid: number;
  readonly proofsChecked: number;
  readonly chainLinks: number;
  readonly chainLinksValid: number;
  readonly consistency?: { readonly from: number; readonly to: number; readonly ok: boolean };
  readonly recordings: readonly { readonly file: string; readonly sessionId: string; readonly seq: number; readonly sha256: string; readonly matches: boolean }[];
}

type Rec<T extends AuditRecord['type']> = Extract<AuditRecord, { type: T }>;

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escape any value (text, numbers, and whatever a hostile client put in a name). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const RECORD_TYPES: Readonly<Record<string, string>> = {
  'gateway.start': 'the gateway started (version, connections)',
  'gateway.stop': 'the gateway stopped',
  'auth.failure': 'a refused authentication (no token recorded)',
  'session.start': 'a session began: verified identity, connection, client, access level',
  command: 'a command with its classification and policy decision',
  result: 'what a command returned: rows, masked values by kind (never values), errors',
  'session.event': 'a protocol event or a recording (file and SHA-256)',
  'session.end': 'a session ended, with its totals',
  'approval.requested': 'a command held for just-in-time approval',
  'approval.decided': 'an approver approved or denied a request',
  'approval.refused': 'someone not allowed to decide a request tried to',
  'approval.expired': 'a request expired undecided',
  'approval.used': 'an approved command ran',
  'budget.exceeded': 'a session went over its grant’s budget',
  'evidence.read': 'someone read the evidence (sessions, replay, export)',
  'credential.issued': 'Warden issued a credential (an SSH certificate)',
  'audit.repair': 'the store repaired a torn write at start',
};

interface SessionInfo {
  readonly record: Rec<'session.start'>;
  end?: string;
  commands: number;
  blocked: number;
}

/** The whole report as one HTML document. */
export function renderReport(manifest: ReportManifest, records: readonly AuditRecord[]): string {
  const sessions = new Map<string, SessionInfo>();
  const results = new Map<string, Rec<'result'>>();
  const approvals = new Map<string, { requested?: Rec<'approval.requested'>; decided?: Rec<'approval.decided'>; used?: boolean; expired?: boolean }>();
  const typeCounts = new Map<string, number>();
  for (const record of records) {
    typeCounts.set(record.type, (typeCounts.get(record.type) ?? 0) + 1);
    if (record.type === 'session.start') sessions.set(record.sessionId, { record, commands: 0, blocked: 0 });
    else if (record.type === 'session.end') {
      const session = sessions.get(record.sessionId);
      if (session) session.end = record.time;
    } else if (record.type === 'command') {
      const session = sessions.get(record.sessionId);
      if (session) {
        session.commands++;
        if (record.decision.effect !== 'allow') session.blocked++;
      }
    } else if (record.type === 'result') results.set(`${record.sessionId}\u0000${record.commandSeq}`, record);
    else if (record.type === 'approval.requested') approvals.set(record.requestId, { ...approvals.get(record.requestId), requested: record });
    else if (record.type === 'approval.decided') approvals.set(record.requestId, { ...approvals.get(record.requestId), decided: record });
    else if (record.type === 'approval.used') approvals.set(record.requestId, { ...approvals.get(record.requestId), used: true });
    else if (record.type === 'approval.expired') approvals.set(record.requestId, { ...approvals.get(record.requestId), expired: true });
  }
  const who = (sessionId: string): { subject: string; connection: string } => {
    const session = sessions.get(sessionId)?.record;
    return session ? { subject: session.identity.subject, connection: session.connection } : { subject: '(session started before the window)', connection: '?' };
  };

  // Commands that touch PHI: their results were masked (or shown under an exemption), a masking
  // rule names what they touched, or their text held PHI literals (replaced by placeholders).
  // Tables a masking rule names (from the plans recorded with allowed commands): a blocked or held
  // command on one of them touched PHI too.
  const phiTables = new Set<string>();
  for (const record of records) {
    if (record.type !== 'command' || record.decision.effect !== 'allow') continue;
    for (const rule of Object.keys(record.decision.masking?.columns ?? {})) {
      const table = rule.toLowerCase().split('.')[0];
      if (table && table !== '*') phiTables.add(table);
    }
  }
  const phiCommands: { command: Rec<'command'>; result?: Rec<'result'> }[] = [];
  const masked = new Map<string, number>();
  const unmasked = new Map<string, number>();
  for (const record of records) {
    if (record.type === 'result') {
      for (const [kind, count] of Object.entries(record.summary.masked ?? {})) masked.set(kind, (masked.get(kind) ?? 0) + count);
      for (const [column, count] of Object.entries(record.summary.unmasked ?? {})) unmasked.set(column, (unmasked.get(column) ?? 0) + count);
    }
    if (record.type !== 'command') continue;
    const result = results.get(`${record.sessionId}\u0000${record.commandSeq}`);
    if (touchesPhi(record, result) || record.classification.objects.some((object) => phiTables.has(object.toLowerCase().split('.').at(-1) ?? ''))) phiCommands.push({ command: record, ...(result ? { result } : {}) });
  }

  const refusals: { time: string; subject: string; connection: string; what: string; why: string }[] = [];
  for (const record of records) {
    if (record.type === 'command' && record.decision.effect !== 'allow') {
      const { subject, connection } = who(record.sessionId);
      refusals.push({ time: record.time, subject, connection, what: record.text, why: `${record.decision.effect}: rule "${record.decision.rule}" — ${record.decision.reason}` });
    } else if (record.type === 'auth.failure') {
      refusals.push({ time: record.time, subject: record.subject ?? record.claimedUser ?? '(unknown)', connection: record.connection, what: `authentication from ${record.clientAddress} (${record.protocol})`, why: `${record.code}: ${record.reason}` });
    } else if (record.type === 'approval.refused') {
      refusals.push({ time: record.time, subject: record.by, connection: '', what: `${record.outcome === 'approved' ? 'approve' : 'deny'} request ${record.requestId}`, why: record.reason });
    } else if (record.type === 'budget.exceeded') {
      const { subject, connection } = who(record.sessionId);
      refusals.push({ time: record.time, subject, connection, what: `budget ${record.limit}`, why: `${record.value} over the limit of ${record.max}` });
    }
  }

  const v = manifest.logVerification;
  const integrity = manifest.integrity;
  const files = Object.entries(manifest.files).filter(([name]) => name !== 'report.html');
  const window = `${manifest.filter.since} – ${manifest.filter.until}${manifest.filter.identity ? `, identity ${manifest.filter.identity}` : ''}`;

  const body = [
    `<h1>Warden evidence report</h1>`,
    `<p class="meta">Window ${escapeHtml(window)}. Exported ${escapeHtml(manifest.createdAt)}. ${escapeHtml(manifest.records)} audit records${manifest.seqRange ? ` (seq ${escapeHtml(manifest.seqRange[0])}–${escapeHtml(manifest.seqRange[1])})` : ''}, each proven against the checkpoint the gateway key ${escapeHtml(manifest.keyId)} signed at ${escapeHtml(manifest.checkpoint.size)} records.</p>`,
    `<p class="meta">The raw records are in <code>records.jsonl</code> (with <code>proofs.jsonl</code>); check the bundle offline with <code>warden audit check-bundle DIR --public-key KEY</code>, using a copy of the gateway’s public key obtained separately.</p>`,

    section('audit-controls', 'Audit controls — 45 CFR 164.312(b)', [
      `<h3>What is recorded</h3>`,
      table(
        ['Record type', 'Meaning', 'Records in this bundle'],
        [...new Set([...Object.keys(RECORD_TYPES), ...typeCounts.keys()])].map((type) => [code(type), escapeHtml(RECORD_TYPES[type] ?? ''), escapeHtml(typeCounts.get(type) ?? 0)]),
        'record-types',
      ),
      `<h3>Verification of the whole log at export</h3>`,
      v
        ? `<p class="${v.ok ? 'ok' : 'bad'}" id="log-verification">${v.ok ? 'VERIFIED' : 'FAILED'}: ${escapeHtml(v.records)} records in ${escapeHtml(v.segments)} segment(s), head ${code(v.lastHash)}; ${escapeHtml(v.checkpoints)} signed checkpoints${v.latestCheckpoint ? ` (latest ${escapeHtml(v.latestCheckpoint.size)} records at ${escapeHtml(v.latestCheckpoint.time)}, key ${escapeHtml(v.latestCheckpoint.keyId)})` : ''}; ${escapeHtml(v.recordings)} recordings checked.${v.inFlight ? ' A record was being written while the log was read; it is not counted.' : ''}</p>` +
          (v.problems.length ? `<ul class="bad">${v.problems.map((problem) => `<li>${escapeHtml(problem)}</li>`).join('')}</ul>` : '')
        : '<p>Not run.</p>',
      `<h3>Checkpoints</h3>`,
      table(['Records covered', 'Merkle root', 'Signed at', 'Key'], [[escapeHtml(manifest.checkpoint.size), code(manifest.checkpoint.root), escapeHtml(manifest.checkpoint.time), escapeHtml(manifest.checkpoint.keyId)]], 'checkpoints'),
      `<h3>Record counts</h3>`,
      table(
        ['', 'Count'],
        [
          ['Records in the window, proven in this bundle', escapeHtml(manifest.records)],
          ['Records in the window after the latest checkpoint (left out; export again later)', escapeHtml(manifest.notYetCheckpointed)],
          ['Sessions started in the window', escapeHtml(sessions.size)],
          ['Commands', escapeHtml(typeCounts.get('command') ?? 0)],
        ],
        'record-counts',
      ),
    ]),

    section('integrity', 'Integrity — 45 CFR 164.312(c)(1)', [
      `<p>Each record carries the SHA-256 of its own content and of the record before it (a hash chain); the gateway signs the Merkle root over all records with Ed25519 at each checkpoint. A change, removal, insertion or reordering of a record breaks its hash, the chain or its inclusion proof.</p>`,
      integrity
        ? table(
            ['Check', 'Result'],
            [
              ['Checkpoint signature (Ed25519)', verdict(integrity.signatureValid)],
              ['Inclusion proofs of the records in the signed Merkle tree', `${verdict(integrity.proofsValid === integrity.proofsChecked)} ${escapeHtml(integrity.proofsValid)} of ${escapeHtml(integrity.proofsChecked)}`],
              ['Hash chain links between consecutive records', `${verdict(integrity.chainLinksValid === integrity.chainLinks)} ${escapeHtml(integrity.chainLinksValid)} of ${escapeHtml(integrity.chainLinks)}`],
              ...(integrity.consistency ? [[`Consistency: the log at ${escapeHtml(integrity.consistency.to)} records extends the log at ${escapeHtml(integrity.consistency.from)}`, verdict(integrity.consistency.ok)]] : []),
            ],
            'integrity-checks',
          )
        : '',
      `<h3>Recordings</h3>`,
      table(
        ['File', 'Session', 'Record', 'SHA-256 (from the audit log)', 'Matches'],
        (integrity?.recordings ?? []).map((recording) => [code(recording.file), code(recording.sessionId), escapeHtml(recording.seq), code(recording.sha256), verdict(recording.matches)]),
        'recordings',
      ),
      `<h3>Files of this bundle</h3>`,
      table(['File', 'SHA-256'], files.map(([name, sha256]) => [code(name), code(sha256)]), 'files'),
    ]),

    section('activity-review', 'Information-system activity review — 45 CFR 164.308(a)(1)(ii)(D)', [
      `<h3>Access report</h3>`,
      table(
        ['Identity', 'Groups', 'Connection', 'From', 'Until', 'Access', 'Allowed by', 'Commands', 'Blocked'],
        [...sessions.values()].map((session) => {
          const start = session.record;
          return [
            `${escapeHtml(start.identity.subject)} <span class="muted">(${escapeHtml(start.identity.kind)})</span>`,
            escapeHtml(start.identity.groups.join(', ')),
            `${escapeHtml(start.connection)} <span class="muted">(${escapeHtml(start.protocol)})</span>`,
            escapeHtml(start.time),
            escapeHtml(session.end ?? 'open at the end of the window'),
            escapeHtml(start.access),
            grantsFor(manifest.grants, start),
            escapeHtml(session.commands),
            escapeHtml(session.blocked),
          ];
        }),
        'access-report',
      ),
      `<h3>Commands that touched PHI</h3>`,
      table(
        ['Time', 'Identity', 'Connection', 'Command (as logged; PHI literals replaced)', 'Objects', 'Decision', 'Values masked', 'Shown unmasked (exemption)'],
        phiCommands.map(({ command, result }) => {
          const { subject, connection } = who(command.sessionId);
          return [
            escapeHtml(command.time),
            escapeHtml(subject),
            escapeHtml(connection),
            code(command.text),
            escapeHtml(command.classification.objects.join(', ')),
            decisionText(command),
            counts(result?.summary.masked),
            counts(result?.summary.unmasked),
          ];
        }),
        'phi-commands',
      ),
      `<h3>Approvals</h3>`,
      table(
        ['Request', 'Requested', 'By', 'Rule', 'Approvers', 'Outcome', 'Approver', 'Reason', 'Used'],
        [...approvals.entries()].map(([requestId, approval]) => [
          code(requestId),
          escapeHtml(approval.requested?.time ?? ''),
          escapeHtml(approval.requested?.subject ?? '(before the window)'),
          escapeHtml(approval.requested?.rule ?? ''),
          escapeHtml(approval.requested?.approvers.join(', ') ?? ''),
          escapeHtml(approval.decided?.outcome ?? (approval.expired ? 'expired' : 'not decided in the window')),
          escapeHtml(approval.decided?.by ?? ''),
          escapeHtml(approval.decided?.reason ?? ''),
          approval.used ? 'yes' : 'no',
        ]),
        'approvals',
      ),
      `<h3>Refusals</h3>`,
      table(['Time', 'Identity', 'Connection', 'What', 'Why'], refusals.map((r) => [escapeHtml(r.time), escapeHtml(r.subject), escapeHtml(r.connection), code(r.what), escapeHtml(r.why)]), 'refusals'),
      `<h3>Masking by PHI kind</h3>`,
      `<p>Counts of values Warden masked before they reached a client, by kind; never the values.</p>`,
      table(['Kind', 'Values masked'], [...masked.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, count]) => [escapeHtml(kind), escapeHtml(count)]), 'masking'),
      ...(unmasked.size ? [table(['Column shown unmasked under an exemption', 'Values'], [...unmasked.entries()].map(([column, count]) => [escapeHtml(column), escapeHtml(count)]), 'unmasked')] : []),
      `<h3>Reads of the evidence</h3>`,
      table(
        ['Time', 'By', 'How identified', 'Action', 'What'],
        records
          .filter((record): record is Rec<'evidence.read'> => record.type === 'evidence.read')
          .map((read) => [escapeHtml(read.time), escapeHtml(read.by), escapeHtml(read.byKind === 'token' ? 'verified token' : read.byKind === 'as' ? 'stated (--as)' : 'OS user'), escapeHtml(read.action), escapeHtml(Object.entries(read.target ?? {}).map(([key, value]) => `${key}=${value}`).join(' '))]),
        'evidence-reads',
      ),
    ]),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Warden evidence report ${escapeHtml(window)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

function touchesPhi(command: Rec<'command'>, result: Rec<'result'> | undefined): boolean {
  if (Object.values(result?.summary.masked ?? {}).some((count) => count > 0)) return true;
  if (Object.values(result?.summary.unmasked ?? {}).some((count) => count > 0)) return true;
  if (command.text.includes('[phi:')) return true;
  const plan = command.decision.effect === 'allow' ? command.decision.masking : undefined;
  if (!plan) return false;
  const objects = new Set(command.classification.objects.map((object) => object.toLowerCase().split('.').at(-1)));
  const columns = new Set((command.classification.columns ?? []).map((column) => column.toLowerCase()));
  return Object.keys(plan.columns).some((rule) => {
    const [table, column] = rule.toLowerCase().split('.');
    return (table !== '*' && objects.has(table)) || (column !== undefined && (columns.has(column) || columns.has(rule.toLowerCase())));
  });
}

function grantsFor(grants: readonly ConfiguredGrant[] | undefined, start: Rec<'session.start'>): string {
  if (!grants) return '<span class="muted">export with --config to name the grant</span>';
  const matching = grants.filter((grant) => grant.connection === start.connection && ((grant.groups ?? []).some((group) => start.identity.groups.includes(group)) || (grant.identities ?? []).includes(start.identity.subject)));
  if (matching.length === 0) return '<span class="muted">no grant in the current configuration</span>';
  return matching
    .map((grant) => escapeHtml(`${grant.access} to ${grant.connection} for ${[...(grant.groups ?? []).map((group) => `group ${group}`), ...(grant.identities ?? []).map((identity) => `identity ${identity}`)].join(', ')}`))
    .join('<br>');
}

function decisionText(command: Rec<'command'>): string {
  const decision = command.decision;
  if (decision.effect === 'allow') {
    const by = decision.approval ? `approved request ${decision.approval}` : decision.rule ? `rule "${decision.rule}"` : 'the grant';
    return `<span class="ok">allow</span> ${escapeHtml(`(${by})`)}`;
  }
  return `<span class="bad">${escapeHtml(decision.effect)}</span> ${escapeHtml(`rule "${decision.rule}": ${decision.reason}`)}`;
}

function counts(map: Readonly<Record<string, number>> | undefined): string {
  const entries = Object.entries(map ?? {}).filter(([, count]) => count > 0);
  return entries.length ? escapeHtml(entries.map(([kind, count]) => `${kind} ${count}`).join(', ')) : '—';
}

function verdict(ok: boolean): string {
  return ok ? '<span class="ok">valid</span>' : '<span class="bad">INVALID</span>';
}

function code(value: unknown): string {
  return `<code>${escapeHtml(value)}</code>`;
}

function section(id: string, title: string, parts: readonly string[]): string {
  return `<section id="${id}">\n<h2>${escapeHtml(title)}</h2>\n${parts.join('\n')}\n</section>`;
}

/** Cells are HTML already (escaped by the caller). */
function table(headers: readonly string[], rows: readonly (readonly string[])[], id: string): string {
  const head = `<thead><tr>${headers.map((header) => `<th>${escapeHtml(header)}</th>`).join('')}</tr></thead>`;
  const body = rows.length ? rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n') : `<tr><td colspan="${headers.length}" class="muted">none</td></tr>`;
  return `<table id="${id}">${head}<tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #111; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 14pt; border-bottom: 2px solid #333; padding-bottom: 0.2em; margin-top: 1.6em; }
h3 { font-size: 12pt; margin: 1.2em 0 0.4em; }
.meta, .muted { color: #555; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1em; font-size: 9.5pt; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
code { font: 9pt ui-monospace, Menlo, Consolas, monospace; word-break: break-all; white-space: pre-wrap; }
.ok { color: #065f1b; font-weight: 600; }
.bad { color: #a00; font-weight: 600; }
@media print {
  body { margin: 0; font-size: 9.5pt; }
  section { break-before: page; }
  section:first-of-type { break-before: auto; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}
`;
