/**
 * `@kubernetes/client-node` 1.4.0 for kubernetes.test.ts, in a plain Node process: the library's
 * own ESM build as applications load it (under jest it is transformed and takes seconds to load).
 * The test starts this process first, so the import overlaps the other tests; then it sends one
 * JSON request per line on stdin and reads one JSON answer per line on stdout:
 *
 *   { id, op: 'list', server, ca, token, namespace }            → { id, result: [pod names] }
 *   { id, op: 'exec', server, ca, token, namespace, pod, container, command, tty }
 *                                                                → { id, result: { status, stdout } }
 *   failures                                                    → { id, error: message }
 */
import readline from 'node:readline';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';

function configFor({ server, ca, token }) {
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'w', server, caData: Buffer.from(ca).toString('base64') }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'c', cluster: 'w', user: 'u' }],
    currentContext: 'c',
  });
  return config;
}

const ops = {
  async list(request) {
    const list = await configFor(request).makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: request.namespace });
    return list.items.map((item) => item.metadata?.name);
  },
  exec(request) {
    const stdout = new PassThrough();
    let output = '';
    stdout.on('data', (chunk) => (output += chunk.toString()));
    return new Promise((resolve, reject) => {
      new k8s.Exec(configFor(request))
        .exec(request.namespace, request.pod, request.container, request.command, stdout, null, null, request.tty, (status) =>
          // The status arrives before the last output frames are read from the PassThrough.
          setImmediate(() => resolve({ status: status?.status, stdout: output })),
        )
        .catch(reject);
    });
  },
};

const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
reply({ ready: true });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  ops[request.op](request).then(
    (result) => reply({ id: request.id, result }),
    (error) => reply({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
