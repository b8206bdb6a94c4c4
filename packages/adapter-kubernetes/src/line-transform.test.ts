import { LineTransform } from './line-transform';

async function run(input: Buffer, split: number[], rewrite: (line: string) => string): Promise<string> {
  const transform = new LineTransform(rewrite);
  const out: Buffer[] = [];
  transform.on('data', (chunk: Buffer) => out.push(Buffer.from(chunk)));
  const done = new Promise((resolve, reject) => {
    transform.on('end', resolve);
    transform.on('error', reject);
  });
  let at = 0;
  for (const cut of [...split, input.length]) {
    transform.write(input.subarray(at, cut));
    at = cut;
  }
  transform.end();
  await done;
  return Buffer.concat(out).toString('utf8');
}

describe('LineTransform', () => {
  const input = Buffer.from('{"a":"é1"}\n\n{"a":"ü2"}\nlast without newline');
  const upper = (line: string) => line.toUpperCase();
  const expected = '{"A":"É1"}\n\n{"A":"Ü2"}\nLAST WITHOUT NEWLINE';

  it('rewrites whole lines, whatever the chunking (split at every byte, UTF-8 included)', async () => {
    expect(await run(input, [], upper)).toBe(expected);
    for (let cut = 1; cut < input.length; cut++) expect(await run(input, [cut], upper)).toBe(expected);
    expect(await run(input, Array.from({ length: input.length - 1 }, (_, i) => i + 1), upper)).toBe(expected);
  });

  it('fails the stream when a line cannot be rewritten', async () => {
    await expect(
      run(Buffer.from('ok\nbad\n'), [], (line) => {
        if (line === 'bad') throw new Error('cannot');
        return line;
      }),
    ).rejects.toThrow('cannot');
  });
});
