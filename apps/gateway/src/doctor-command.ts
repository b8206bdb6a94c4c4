import { parseArgs } from 'node:util';
import type { AdapterFactory } from '@warden/core';
import { ADAPTERS } from './adapters';
import { loadConfigFile } from './config/load-config';
import { parseConnectionTargets } from './gateway';
import { checkTargetAccount, readOnlyConnections, type InspectableConnection, type TargetAccountFinding } from './target-account-check';

export const DOCTOR_USAGE = `  warden doctor --config FILE           check each connection for problems an operator should fix
                                        (e.g. a read-only connection whose target account is a
                                        superuser); exit 0 none found, 1 problems found
`;

/** What the command needs to print; `CliIo` satisfies it. */
export interface DoctorIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * `warden doctor`: loads and validates the configuration, then asks each connection's target, with
 * Warden's own credentials, who Warden's account is there. Prints one line per connection:
 * `ok`, `problem` (to fix) or `note` (could not check). Exit codes: 0 no problem, 1 problems found
 * or a target could not be checked, 2 usage or configuration error.
 */
export async function doctorCommand(args: readonly string[], io: DoctorIo, registry: ReadonlyMap<string, AdapterFactory<unknown>> = ADAPTERS): Promise<number> {
  const usage = (message: string): number => {
    io.err(`warden doctor: ${message}\n\nUsage:\n${DOCTOR_USAGE}`);
    return 2;
  };
  let values: { config?: string | undefined };
  try {
    ({ values } = parseArgs({ args: [...args], options: { config: { type: 'string' } }, strict: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return usage((error as Error).message);
    throw error;
  }
  if (!values.config) return usage('--config is required');

  const loaded = loadConfigFile(values.config);
  const connections: InspectableConnection[] = parseConnectionTargets(loaded, registry);
  const readOnly = readOnlyConnections(loaded.config);
  const findings = await Promise.all(connections.map((connection) => checkTargetAccount(connection, readOnly.has(connection.name), registry)));
  let problems = 0;
  for (const finding of findings) {
    const [label, counts] = labelOf(finding);
    if (counts) problems++;
    io.out(`${finding.connection}: ${label}: ${finding.message}\n`);
  }
  io.out(problems === 0 ? 'warden doctor: no problems found\n' : `warden doctor: ${problems} problem${problems === 1 ? '' : 's'} found\n`);
  return problems === 0 ? 0 : 1;
}

function labelOf(finding: TargetAccountFinding): [string, boolean] {
  switch (finding.status) {
    case 'superuser-on-read-only':
      return ['problem', true];
    case 'unreachable':
      return ['problem', true];
    case 'ok':
      return ['ok', false];
    case 'not-checked':
      return ['note', false];
  }
}
