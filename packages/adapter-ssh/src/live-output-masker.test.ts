import { randomBytes } from 'node:crypto';
import { Masker } from '@warden/core';
import { LiveOutputMasker } from './live-output-masker';
import type { StreamPiece } from '@warden/core';

const masker = new Masker({ key: Buffer.alloc(32, 3), detectors: ['ssn'] });

function collect(): { pieces: StreamPiece[]; live: LiveOutputMasker; counts: Record<string, number>; text: () => string } {
  const pieces: StreamPiece[] = [];
  const counts: Record<string, number> = {};
  const live = new LiveOutputMasker(masker, counts, (piece) => pieces.push(piece));
  const text = () => pieces.map((piece) => (piece.kind === 'text' ? piece.text : `<${piece.data.length} bytes>`)).join('');
  return { pieces, live, counts, text };
}

describe('LiveOutputMasker', () => {
  it('masks a value split across chunks at every byte, sending whole lines', () => {
    const output = Buffer.from('ssn 412-55-7301 é\n');
    for (let at = 0; at <= output.length; at++) {
      const { live, counts, text } = collect();
      live.push(output.subarray(0, at));
      live.push(output.subarray(at));
      live.end();
      expect(text()).not.toContain('412-55-7301');
      expect(text()).toMatch(/^ssn \S+ é\n$/);
      expect(counts).toEqual({ ssn: 1 });
    }
  });

  it('sends held text before a binary chunk, and the binary chunk byte for byte', () => {
    const { live, pieces } = collect();
    const binary = Buffer.concat([Buffer.from([0xff, 0]), randomBytes(1000)]);
    live.push(Buffer.from('header 412-55-7301'));
    expect(pieces).toEqual([]);
    live.push(binary);
    expect(pieces).toHaveLength(2);
    expect(pieces[0]).toMatchObject({ kind: 'text' });
    expect((pieces[0] as { text: string }).text).not.toContain('412-55-7301');
    expect(pieces[1]).toEqual({ kind: 'binary', data: binary });
  });

  it('sends a partial line (a prompt) once the stream is idle', async () => {
    const { live, text } = collect();
    live.push(Buffer.from('$ '));
    expect(text()).toBe('');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(text()).toBe('$ ');
    live.end();
  });
});
