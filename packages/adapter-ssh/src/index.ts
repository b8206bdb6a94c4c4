export { sshAdapter } from './ssh-adapter';
export { parseSshTarget } from './ssh-target';
export type { SshTarget } from './ssh-target';
export { classifyShell, loadShellParser } from './shell-classifier';
export { fingerprint } from './host-key';
export { SshCertificateAuthority, generateUserKeyPair } from './certificate-authority';
export type { CertificateAdmission, IssueCertificateInput, IssuedCertificate } from './certificate-authority';
export { parseCertificate } from './openssh-certificate';
export type { ParsedCertificate } from './openssh-certificate';
