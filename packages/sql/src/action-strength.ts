import type { Action } from '@warden/core';

/**
 * How strong each action is, weakest first: a command holding several statements gets the
 * strongest action among them, so that `SELECT 1; DROP TABLE t` is judged as the DROP.
 * `unknown` is the strongest because policy must treat what could not be analysed fail-closed.
 */
export const ACTION_STRENGTH: Readonly<Record<Action, number>> = {
  connect: 0,
  transaction: 1,
  session: 2,
  read: 3,
  exec: 4,
  write: 5,
  ddl: 6,
  admin: 7,
  unknown: 8,
};

/** The stronger of two actions (the first one when they are equal). */
export function strongerAction(a: Action, b: Action): Action {
  return ACTION_STRENGTH[b] > ACTION_STRENGTH[a] ? b : a;
}
