import { REDACTED_BASE64, REDACTED_TEXT, redactSecrets, redactSecretsJson } from './secret-redaction';

describe('redactSecrets', () => {
  const secret = () => ({
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}', keep: 'me' } },
    data: { password: 'aHVudGVyMg==', user: 'YWRtaW4=' },
    stringData: { token: 'abc' },
  });

  it('replaces every value of a Secret, keeps the keys', () => {
    const value = secret();
    expect(redactSecrets(value)).toBe(4);
    expect(value.data).toEqual({ password: REDACTED_BASE64, user: REDACTED_BASE64 });
    expect(value.stringData).toEqual({ token: REDACTED_TEXT });
    expect(value.metadata.annotations).toEqual({ 'kubectl.kubernetes.io/last-applied-configuration': REDACTED_TEXT, keep: 'me' });
  });

  it('finds Secrets in lists, tables and watch events', () => {
    const list = { kind: 'SecretList', items: [secret(), secret()] };
    expect(redactSecrets(list)).toBe(8);
    const table = { kind: 'Table', rows: [{ cells: ['s'], object: secret() }] };
    expect(redactSecrets(table)).toBe(4);
    const { text } = redactSecretsJson(JSON.stringify({ type: 'ADDED', object: secret() }));
    expect(text).not.toContain('aHVudGVyMg==');
  });

  it('throws on what is not JSON, so the caller refuses the response', () => {
    expect(() => redactSecretsJson('k8s\u0000protobuf')).toThrow();
  });
});
