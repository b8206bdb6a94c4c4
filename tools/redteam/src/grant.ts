/** The access levels of a grant, as the gateway's config names them. */
export type Grant = 'read-only' | 'read-write' | 'full';
