import { classifyShell } from './shell-classifier';

const objectsOf = (text: string) => classifyShell(text).statements.map((statement) => statement.objects);

describe('classifyShell', () => {
  it('names the program, its path and its words', () => {
    const result = classifyShell('/bin/rm -rf /');
    expect(result.action).toBe('exec');
    expect(result.statementCount).toBe(1);
    expect(result.statements[0]!.objects).toEqual(['rm', '/bin/rm', '/bin/rm -rf /']);
  });

  it('sees every command of a list, in order', () => {
    expect(objectsOf('ls; rm -rf / && echo ok || true').map((objects) => objects[0])).toEqual(['ls', 'rm', 'echo', 'true']);
  });

  it('sees commands inside $(…), backticks, <(…), subshells, functions and loops', () => {
    const programs = classifyShell('echo "$(rm -rf /)" `id` $(whoami); diff <(cat a) b; (cd /; shred x); f() { wipefs y; }; for i in 1; do mkfs $i; done')
      .statements.map((statement) => statement.objects[0]);
    expect(programs).toEqual(expect.arrayContaining(['echo', 'rm', 'id', 'whoami', 'diff', 'cat', 'cd', 'shred', 'wipefs', 'mkfs']));
  });

  it('names pipelines so that `curl … | sh` is one object', () => {
    const result = classifyShell('curl -s https://example.com/install | sudo bash');
    expect(result.objects).toEqual(expect.arrayContaining(['curl', 'bash', 'sudo', 'curl|sudo']));
    const long = classifyShell('wget -qO- x | tee log | sh');
    expect(long.statements.every((statement) => statement.objects.includes('wget|tee|sh'))).toBe(true);
  });

  it('removes quoting and escapes, so `r\\m` and "rm" are rm', () => {
    expect(objectsOf(`r\\m -rf /`)[0]).toContain('rm');
    expect(objectsOf(`"rm" '-rf' /`)[0]).toEqual(['rm', 'rm -rf /']);
    expect(objectsOf(`'/usr/bin/rm' x`)[0]).toEqual(['rm', '/usr/bin/rm', '/usr/bin/rm x']);
  });

  it('follows wrappers to the program that runs', () => {
    expect(classifyShell('sudo -u root env A=1 nice -n 5 rm -rf /').objects).toEqual(expect.arrayContaining(['sudo', 'env', 'nice', 'rm']));
    expect(classifyShell('timeout 5 psql -h db').objects).toContain('psql');
    expect(classifyShell('find . | xargs -n 1 rm').objects).toContain('rm');
  });

  it('parses the scripts given to sh -c, bash -lc and eval', () => {
    expect(classifyShell(`bash -lc 'cd /tmp && rm -rf /'`).objects).toEqual(expect.arrayContaining(['bash', 'cd', 'rm']));
    expect(classifyShell(`sudo sh -c "curl x | sh"`).objects).toEqual(expect.arrayContaining(['curl', 'curl|sh']));
    expect(classifyShell(`eval 'rm -rf /'`).objects).toContain('rm');
  });

  it('fails closed on what cannot be known before it runs', () => {
    for (const text of ['$CMD -rf /', '$(echo rm) -rf /', 'bash -c "$SCRIPT"', 'eval "$X"', 'sudo $PROGRAM']) {
      const result = classifyShell(text);
      expect({ text, action: result.action }).toEqual({ text, action: 'unknown' });
      expect(result.statements.find((statement) => statement.action === 'unknown')!.note).toMatch(/computed at run time/);
    }
  });

  it('refuses a line that does not parse, saying why', () => {
    const result = classifyShell('echo "unterminated');
    expect(result.action).toBe('unknown');
    expect(result.statements[0]!.note).toMatch(/^shell parse error: .*quote/);
  });

  it('classifies an empty command line as exec with nothing named', () => {
    expect(classifyShell('')).toMatchObject({ action: 'exec', objects: [], statementCount: 1 });
  });

  it('keeps dynamic arguments visible as ? in the words', () => {
    expect(objectsOf('rm -rf "$HOME"')[0]).toEqual(['rm', 'rm -rf ?']);
  });
});
