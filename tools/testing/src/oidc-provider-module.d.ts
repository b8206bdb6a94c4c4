/**
 * The little of oidc-provider 9 that `startOidcProvider` uses. oidc-provider ships no type
 * declarations and there is no `@types/oidc-provider` for v9; its configuration is documented at
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ProviderToken {
    readonly clientId?: string;
    readonly kind?: string;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Readonly<Record<string, unknown>>);
    readonly issuer: string;
    /** Koa's request handler, for `http.createServer`. */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
