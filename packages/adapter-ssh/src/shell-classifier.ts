/**
 * Classifies a shell command line (an SSH `exec` request, a line typed at a shell prompt) with a real
 * shell parser: mvdan/sh's bash parser (mvdan-sh, the Go parser compiled to JavaScript). Every simple
 * command anywhere in the line becomes one statement — after `;`, `&&`, `||`, in pipes, inside
 * `$(…)`, backticks, `<(…)`, subshells, functions and loops — so a rule that names a program sees it
 * wherever it hides.
 *
 * Each statement's `objects` carry, for policy globs (`*` matches anything but `.`, `**` anything):
 * - the program's name (`rm`) and, when it was given as a path, the path too (`/bin/rm`);
 * - programs run through a wrapper (`sudo rm …`, `env X=1 rm …`, `xargs rm`, `timeout 5 rm …`) and
 *   the commands inside `sh -c '…'` / `bash -c '…'` / `eval '…'` (parsed in turn);
 * - for a command in a pipeline, the pipeline's programs joined by `|` (`curl|sh`, `cat|grep|sh`);
 * - the command's words with quoting removed, joined by single spaces (`rm -rf /`).
 *
 * Fail closed: a line that does not parse, a program name computed at run time (`$cmd`, `$(…)`),
 * or a `-c`/`eval` script that is not a constant makes the statement `unknown`, which policy refuses.
 */
import { syntax, type GoError, type ShNode } from 'mvdan-sh';
import type { Classification, StatementClass } from '@warden/core';

/** Programs that run the program named by (one of) their arguments. */
const WRAPPERS = new Set(['sudo', 'doas', 'env', 'nohup', 'exec', 'time', 'nice', 'ionice', 'timeout', 'xargs', 'command', 'builtin', 'stdbuf', 'setsid', 'chroot', 'watch', 'su']);
/** Wrapper options that take a separate value (`sudo -u root`, `nice -n 5`, `timeout -s KILL`). */
const WRAPPER_OPTIONS_WITH_VALUE: Readonly<Record<string, ReadonlySet<string>>> = {
  sudo: new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-R', '-r', '-t', '-U', '-T']),
  doas: new Set(['-u', '-C']),
  nice: new Set(['-n']),
  ionice: new Set(['-c', '-n', '-p']),
  timeout: new Set(['-s', '-k', '--signal', '--kill-after']),
  xargs: new Set(['-a', '-d', '-E', '-I', '-L', '-n', '-P', '-s', '--arg-file', '--delimiter', '--max-args', '--max-procs']),
  stdbuf: new Set(['-i', '-o', '-e']),
  watch: new Set(['-n', '-d', '--interval']),
  su: new Set(['-c', '-s', '-g', '-G', '--command', '--shell']),
};
/** Programs whose `-c` argument is a script in the same language. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'busybox']);
/** How deep `sh -c 'sh -c …'` nesting is followed before the line is refused. */
const MAX_NESTING = 8;

let parserOperators: { pipe: unknown; pipeAll: unknown } | undefined;

/** Loads the parser (~0.2 s the first time). Call at start-up so the first command does not wait. */
export function loadShellParser(): void {
  if (parserOperators) return;
  // The numeric values of the pipe operators differ between mvdan/sh releases: read them off a parse.
  const parser = syntax.NewParser();
  const opOf = (source: string) => ((parser.Parse(source, '')['Stmts'] as ShNode[])[0]!['Cmd'] as ShNode)['Op'];
  parserOperators = { pipe: opOf('a | b'), pipeAll: opOf('a |& b') };
}

/**
 * Classifies a command line. Never throws: what cannot be understood is `unknown`.
 * @example classifyShell('curl -s https://x | sh').statements.map((s) => s.objects)
 * // [['curl', 'curl|sh', 'curl -s https://x'], ['sh', 'curl|sh', 'sh']]
 */
export function classifyShell(text: string): Classification {
  loadShellParser();
  const statements: StatementClass[] = [];
  collect(text, statements, 0);
  if (statements.length === 0) {
    // An empty line, or assignments only: nothing runs but the login shell's own start-up.
    statements.push({ action: 'exec', objects: [], bulk: false, note: 'no command' });
  }
  const unknown = statements.some((statement) => statement.action === 'unknown');
  return {
    action: unknown ? 'unknown' : 'exec',
    objects: [...new Set(statements.flatMap((statement) => statement.objects))],
    bulk: false,
    statementCount: statements.length,
    statements,
  };
}

function collect(source: string, out: StatementClass[], depth: number): void {
  if (depth > MAX_NESTING) {
    out.push(unknownStatement([], `shell scripts nested more than ${MAX_NESTING} deep`));
    return;
  }
  let file: ShNode;
  try {
    file = syntax.NewParser().Parse(source, '');
  } catch (error) {
    out.push(unknownStatement([], `shell parse error: ${goErrorMessage(error)}`));
    return;
  }
  // GopherJS hands out a new wrapper object for a node on every access, so nodes are keyed by
  // their source span rather than by identity.
  /** Pipelines each simple command takes part in, by the command's span. */
  const pipelines = new Map<string, string[]>();
  /** Pipe nodes already handled as part of an outer chain: `a | b | c` nests as ((a | b) | c). */
  const chained = new Set<string>();
  syntax.Walk(file, (node) => {
    if (!node) return true;
    const type = syntax.NodeType(node);
    if (type === 'BinaryCmd' && isPipe(node['Op']) && !chained.has(`${type}:${span(node)}`)) {
      const stages = pipelineStages(node, chained);
      const joined = stages.map((stage) => firstProgram(stage) ?? '?').join('|');
      for (const stage of stages) {
        for (const call of callsIn(stage)) {
          const list = pipelines.get(span(call)) ?? [];
          list.push(joined);
          pipelines.set(span(call), list);
        }
      }
      return true;
    }
    if (type === 'CallExpr') out.push(...classifyCall(node, pipelines.get(span(node)) ?? [], depth));
    return true;
  });
}

function classifyCall(call: ShNode, pipelines: readonly string[], depth: number): StatementClass[] {
  const args = (call['Args'] as ShNode[] | null) ?? [];
  if (args.length === 0) return [];
  const words = args.map(staticWord);
  const program = words[0];
  if (program === undefined) return [unknownStatement(pipelines, 'the program name is computed at run time')];

  const objects = new Set<string>([basename(program)]);
  if (program.includes('/')) objects.add(program);
  for (const pipeline of pipelines) objects.add(pipeline);
  objects.add(words.map((word) => word ?? '?').join(' '));
  const nested: StatementClass[] = [];
  let note: string | undefined;

  // Follow wrappers (`sudo -u x env A=1 bash -c '…'`) to the program that really runs.
  let index = 0;
  for (let hops = 0; hops < MAX_NESTING; hops++) {
    const name = basename(words[index] ?? '');
    if (SHELLS.has(name) || name === 'eval') {
      const script = scriptArgument(name, words, index);
      if (script === null) break;
      if (script === undefined) return [unknownStatement([...objects], `the script given to ${name} is computed at run time`)];
      collect(script, nested, depth + 1);
      break;
    }
    if (!WRAPPERS.has(name)) break;
    const next = wrappedProgramIndex(name, words, index);
    if (next === undefined) break;
    const wrapped = words[next];
    if (wrapped === undefined) return [unknownStatement([...objects], `the program run by ${name} is computed at run time`)];
    objects.add(basename(wrapped));
    if (wrapped.includes('/')) objects.add(wrapped);
    note = `runs ${basename(wrapped)} through ${name}`;
    index = next;
  }
  const statement: StatementClass = { action: 'exec', objects: [...objects], bulk: false, ...(note ? { note } : {}) };
  return [statement, ...nested];
}

/** The `-c` script of a shell, or eval's joined arguments; null when there is none (a script file or stdin). */
function scriptArgument(name: string, words: readonly (string | undefined)[], index: number): string | undefined | null {
  if (name === 'eval') {
    const rest = words.slice(index + 1);
    return rest.some((word) => word === undefined) ? undefined : rest.join(' ');
  }
  for (let i = index + 1; i < words.length; i++) {
    const word = words[i];
    if (word === undefined) return undefined;
    if (!word.startsWith('-') || word === '-' || word === '--') return null;
    // `-c`, and combined flags such as `-ec` or `-lc`.
    if (!word.startsWith('--') && word.slice(1).includes('c')) {
      const script = words[i + 1];
      return i + 1 < words.length ? script : null;
    }
  }
  return null;
}

function wrappedProgramIndex(name: string, words: readonly (string | undefined)[], index: number): number | undefined {
  const withValue = WRAPPER_OPTIONS_WITH_VALUE[name] ?? new Set<string>();
  let skipPositional = name === 'timeout' || name === 'chroot' ? 1 : 0;
  for (let i = index + 1; i < words.length; i++) {
    const word = words[i];
    if (word === undefined) return i;
    if (word === '--') return i + 1 < words.length ? i + 1 : undefined;
    if (word.startsWith('-') && word.length > 1) {
      if (withValue.has(word)) i++;
      continue;
    }
    if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue;
    if (skipPositional > 0) {
      skipPositional--;
      continue;
    }
    return i;
  }
  return undefined;
}

/** A word's value when it is a constant (literals and quotes only); undefined when expanded at run time. */
function staticWord(word: ShNode): string | undefined {
  let value = '';
  for (const part of (word['Parts'] as ShNode[] | null) ?? []) {
    const type = syntax.NodeType(part);
    if (type === 'Lit') value += unescapeUnquoted(String(part['Value']));
    else if (type === 'SglQuoted' && part['Dollar'] !== true) value += String(part['Value']);
    else if (type === 'DblQuoted' && part['Dollar'] !== true) {
      for (const inner of (part['Parts'] as ShNode[] | null) ?? []) {
        if (syntax.NodeType(inner) !== 'Lit') return undefined;
        value += String(inner['Value']).replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === '\n' ? '' : c));
      }
    } else return undefined;
  }
  return value;
}

function unescapeUnquoted(raw: string): string {
  return raw.replace(/\\(\n|.)/g, (_m, c: string) => (c === '\n' ? '' : c));
}

function isPipe(op: unknown): boolean {
  return op === parserOperators!.pipe || op === parserOperators!.pipeAll;
}

/** The stages of a pipe chain, left to right; marks the chain's inner pipe nodes in `chained`. */
function pipelineStages(node: ShNode, chained: Set<string>): ShNode[] {
  chained.add(`BinaryCmd:${span(node)}`);
  const left = node['X'] as ShNode;
  const right = node['Y'] as ShNode;
  const leftCmd = left['Cmd'] as ShNode | null;
  const leftIsPipe = leftCmd !== null && syntax.NodeType(leftCmd) === 'BinaryCmd' && isPipe(leftCmd['Op']) && left['Negated'] !== true;
  return [...(leftIsPipe ? pipelineStages(leftCmd, chained) : [left]), right];
}

function firstProgram(stage: ShNode): string | undefined {
  const first = callsIn(stage)[0];
  const word = first ? ((first['Args'] as ShNode[] | null) ?? [])[0] : undefined;
  const value = word ? staticWord(word) : undefined;
  return value === undefined ? undefined : basename(value);
}

function callsIn(node: ShNode): ShNode[] {
  const calls: ShNode[] = [];
  syntax.Walk(node, (child) => {
    if (child && syntax.NodeType(child) === 'CallExpr') calls.push(child);
    return true;
  });
  return calls;
}

/** `start-end` byte offsets of a node in the parsed source. */
function span(node: ShNode): string {
  const position = (name: 'Pos' | 'End') => (node[name] as () => { Offset(): number })().Offset();
  return `${position('Pos')}-${position('End')}`;
}

function basename(program: string): string {
  const slash = program.replace(/\/+$/, '').lastIndexOf('/');
  return slash === -1 ? program : program.slice(slash + 1);
}

function unknownStatement(objects: readonly string[], note: string): StatementClass {
  return { action: 'unknown', objects: [...new Set(objects)], bulk: false, note };
}

function goErrorMessage(error: unknown): string {
  const candidate = error as Partial<GoError> | null;
  if (candidate && typeof candidate.Error === 'function') return candidate.Error();
  return error instanceof Error ? error.message : String(error);
}
