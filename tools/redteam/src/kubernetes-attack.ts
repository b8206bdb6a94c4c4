/**
 * The shape of a Kubernetes attack and how one runs: HTTPS requests to Warden's Kubernetes
 * listener as one caller, or raw bytes on one TLS connection (for request smuggling). What the
 * attack did is read off the API server test double (its stored objects and the requests it
 * received), not off Warden's answers.
 */
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';

/** The issue-20 classes of Kubernetes attacks. */
export type KubernetesAttackClass = 'path-encoding' | 'subresources' | 'impersonation' | 'verbs' | 'watch' | 'protected-pods' | 'smuggling' | 'proxy';

/** Callers: `agent` (read-only, an agent: no secrets), `dev` (read-write: no phi pods, no deletes in prod, no locked configmaps), `ops` (full). */
export type KubeCaller = 'agent' | 'dev' | 'ops';

export type KubeStep =
  | { readonly method: string; readonly path: string; readonly headers?: Readonly<Record<string, string | readonly string[]>>; readonly body?: string }
  /** Raw bytes on one TLS connection; `{{token}}` is the caller's token. Read until the server closes or goes quiet. */
  | { readonly raw: string };

/**
 * - `refused`: the payload step was answered with an error status (or the connection was closed
 *   without an answer), and the target shows no effect.
 * - `no-effect`: whatever the answers, the target shows no effect.
 */
export type KubeExpectation = 'refused' | 'no-effect';

export interface KubernetesAttack {
  readonly id: string;
  readonly class: KubernetesAttackClass;
  readonly caller: KubeCaller;
  readonly steps: readonly KubeStep[];
  readonly expect: KubeExpectation;
  /** A request the target must not receive: matched against `METHOD decoded-path?query` of each. */
  readonly mustNotReach?: RegExp;
  /** Text no answer may contain (protected data reaching the caller). */
  readonly mustNotSee?: RegExp;
  /** Header names (lower case) the target must not receive from the caller. */
  readonly mustNotForward?: readonly string[];
  readonly pending?: `issue-20: ${string}`;
}

export interface KubeAnswer {
  /** The HTTP status (of the first answer, for raw steps); 0 when the connection closed without one. */
  readonly status: number;
  readonly body: string;
}

/** How long a streaming answer (watch, follow) is read before the client hangs up. */
const STREAM_READ_MS = 700;

function httpsStep(server: URL, ca: string, token: string, step: Extract<KubeStep, { method: string }>): Promise<KubeAnswer> {
  return new Promise((resolve) => {
    const request = httpsRequest({
      host: server.hostname,
      port: server.port,
      method: step.method,
      path: step.path,
      ca,
      agent: false,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...(step.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...step.headers },
    });
    let settled = false;
    const finish = (answer: KubeAnswer) => {
      if (settled) return;
      settled = true;
      request.destroy();
      resolve(answer);
    };
    request.on('response', (response) => {
      let body = '';
      const timer = setTimeout(() => finish({ status: response.statusCode ?? 0, body }), STREAM_READ_MS);
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        clearTimeout(timer);
        finish({ status: response.statusCode ?? 0, body });
      });
      response.on('error', () => finish({ status: response.statusCode ?? 0, body }));
    });
    request.on('upgrade', (response) => finish({ status: response.statusCode ?? 101, body: 'upgraded' }));
    request.on('error', (error) => finish({ status: 0, body: error.message }));
    request.end(step.body);
  });
}

function rawStep(server: URL, ca: string, token: string, raw: string): Promise<KubeAnswer> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: server.hostname, port: Number(server.port), ca, servername: 'localhost' });
    let received = '';
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(quiet);
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1];
      resolve({ status: status ? Number(status) : 0, body: received });
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, STREAM_READ_MS);
    };
    socket.on('secureConnect', () => {
      socket.write(raw.replace(/\{\{token\}\}/g, token));
      rearm();
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      rearm();
    });
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

export async function runKubernetesAttack(attack: KubernetesAttack, options: { server: URL; ca: string; token: string }): Promise<KubeAnswer[]> {
  const answers: KubeAnswer[] = [];
  for (const step of attack.steps) answers.push('raw' in step ? await rawStep(options.server, options.ca, options.token, step.raw) : await httpsStep(options.server, options.ca, options.token, step));
  return answers;
}
