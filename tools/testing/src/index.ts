export { DEFAULT_TEST_CLIENT, startOidcProvider } from './oidc-provider';
export type { StartOidcProviderOptions, TestOidcClient, TestOidcProvider } from './oidc-provider';
export { DEFAULT_PRIVATE_POSTGRES_USER, startPrivatePostgres } from './private-postgres';
export type { PrivatePostgres, PrivatePostgresAuthMethod, PrivatePostgresUser, StartPrivatePostgresOptions } from './private-postgres';
export { startPrivateSshd } from './private-sshd';
export type { PrivateSshd } from './private-sshd';
export { startFakeKubeApiserver } from './fake-kube-apiserver';
export type { FakeKubeApiserver, FakeKubeRequest, KubeObject, StartFakeKubeApiserverOptions } from './fake-kube-apiserver';
