/** The gateway's version, recorded in the audit log at start and stop. */
export const VERSION = '0.1.0';
