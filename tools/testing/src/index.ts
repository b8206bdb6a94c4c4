export { DEFAULT_TEST_CLIENT, startOidcProvider } from './oidc-provider';
export type { StartOidcProviderOptions, TestOidcClient, TestOidcProvider } from './oidc-provider';
