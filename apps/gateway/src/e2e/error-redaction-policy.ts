/**
 * What the Postgres and MySQL error-redaction tests share, so both protocols are held to the same
 * policy: the synthetic patients they seed, the masking that applies to them (clinicians see the
 * date of birth, phi-admins every column) and the grants of the identities the tests connect as.
 */

/** Synthetic PHI: every value below is one a target error may quote and Warden must redact. */
export const PATIENTS = [
  { id: 1, ssn: '219-47-8831', dob: '1958-07-23', email: 'marisol.quintero@mailbox.example' },
  { id: 2, ssn: '412-63-9054', dob: '1971-11-02', email: 'd.achterberg@post.example' },
];

/** The masking section for `connection` (top-level YAML). */
export function errorRedactionMasking(connection: string): string {
  return `
masking:
  - connection: ${connection}
    columns:
      phi_patients.ssn: redact
      phi_patients.dob: year-only
      phi_patients.email: partial
    exempt:
      - { groups: [clinicians], columns: [phi_patients.dob] }
      - { groups: [phi-admins], columns: ["*.*"] }
`;
}

/** The grants for `connection`: read-only agents, read-write clinicians and phi-admins, full dba. */
export function errorRedactionGrants(connection: string): string {
  return `
  - { connection: ${connection}, groups: [coding-agents], access: read-only }
  - { connection: ${connection}, groups: [clinicians], access: read-write }
  - { connection: ${connection}, groups: [phi-admins], access: read-write }
  - { connection: ${connection}, groups: [dba], access: full }`;
}
