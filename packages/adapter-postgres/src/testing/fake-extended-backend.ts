import { errorResponse, readyForQuery } from '../backend-messages';
import { BackendCode, FrontendCode } from '../message-codes';

/**
 * A PostgreSQL backend reduced to what the extended protocol does with names, for tests of
 * Warden's name handling: named and unnamed prepared statements and portals, "already exists" and
 * "does not exist" errors with PostgreSQL's texts, skipping every message after an error up to
 * Sync, portals ending with the (implicit) transaction at Sync. Parse of the text `FAIL` is a
 * syntax error. Execute records the text it runs.
 */
export class FakeExtendedBackend {
  readonly statements = new Map<string, string>();
  readonly portals = new Map<string, string>();
  readonly executed: string[] = [];
  /** Each text run, with the portal name it ran under. */
  readonly executedBy: Array<[portal: string, text: string]> = [];
  private skipping = false;

  /** The answers to `bytes` (whole messages). */
  receive(bytes: Buffer): Buffer {
    const out: Buffer[] = [];
    let at = 0;
    while (at < bytes.length) {
      const code = bytes[at]!;
      const end = at + 1 + bytes.readInt32BE(at + 1);
      out.push(...this.message(code, bytes.subarray(at + 5, end)));
      at = end;
    }
    return Buffer.concat(out);
  }

  private message(code: number, body: Buffer): Buffer[] {
    if (code === FrontendCode.Sync) {
      this.skipping = false;
      this.portals.clear();
      return [readyForQuery(0x49)];
    }
    if (this.skipping) return [];
    const strings = cstrings(body, code === FrontendCode.Close || code === FrontendCode.Describe ? 1 : 0);
    switch (code) {
      case FrontendCode.Parse: {
        const [name = '', text = ''] = strings;
        if (name !== '' && this.statements.has(name)) return this.fail('42P05', `prepared statement "${name}" already exists`);
        if (name === '') this.statements.delete('');
        if (text === 'FAIL') return this.fail('42601', 'syntax error at or near "FAIL"');
        this.statements.set(name, text);
        return [simple(BackendCode.ParseComplete)];
      }
      case FrontendCode.Bind: {
        const [portal = '', statement = ''] = strings;
        const text = this.statements.get(statement);
        if (text === undefined) return this.fail('26000', statement === '' ? 'unnamed prepared statement does not exist' : `prepared statement "${statement}" does not exist`);
        if (portal !== '' && this.portals.has(portal)) return this.fail('42P03', `cursor "${portal}" already exists`);
        this.portals.set(portal, text);
        return [simple(BackendCode.BindComplete)];
      }
      case FrontendCode.Execute: {
        const text = this.portals.get(strings[0] ?? '');
        if (text === undefined) return this.fail('34000', `portal "${strings[0] ?? ''}" does not exist`);
        this.executed.push(text);
        this.executedBy.push([strings[0] ?? '', text]);
        return [commandComplete('SELECT 1')];
      }
      case FrontendCode.Describe: {
        const kind = String.fromCharCode(body[0]!);
        const name = strings[0] ?? '';
        if (kind === 'S' && !this.statements.has(name)) return this.fail('26000', name === '' ? 'unnamed prepared statement does not exist' : `prepared statement "${name}" does not exist`);
        if (kind === 'P' && !this.portals.has(name)) return this.fail('34000', `portal "${name}" does not exist`);
        return [simple(BackendCode.NoData)];
      }
      case FrontendCode.Close: {
        (body[0] === 0x53 ? this.statements : this.portals).delete(strings[0] ?? '');
        return [simple(BackendCode.CloseComplete)];
      }
      default:
        return [];
    }
  }

  private fail(code: string, message: string): Buffer[] {
    this.skipping = true;
    return [errorResponse({ severity: 'ERROR', code, message })];
  }
}

function cstrings(body: Buffer, from: number): string[] {
  const out: string[] = [];
  let at = from;
  for (let i = 0; i < 2; i++) {
    const zero = body.indexOf(0, at);
    if (zero === -1) break;
    out.push(body.toString('utf8', at, zero));
    at = zero + 1;
  }
  return out;
}

function simple(code: number): Buffer {
  return Buffer.from([code, 0, 0, 0, 4]);
}

function commandComplete(tag: string): Buffer {
  const body = Buffer.from(`${tag}\0`);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = BackendCode.CommandComplete;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}
