export { kubernetesAdapter } from './kubernetes-adapter';
export { parseKubernetesTarget } from './kubernetes-target';
export type { KubernetesTarget } from './kubernetes-target';
export { classifyKubeRequest, commandText, parseKubeRequest, requestObjects, KUBE_VERBS } from './kube-request';
export type { KubeRequest, KubeResourceRequest, KubeVerb } from './kube-request';
export { redactSecrets, REDACTED_BASE64, REDACTED_TEXT } from './secret-redaction';
