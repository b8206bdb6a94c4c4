import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApprovalRequest } from '@warden/core';
import { approvalWebhook, summarizeRequest } from './approval-webhook';

const request: ApprovalRequest = {
  id: 'apr_0123456789ab',
  status: 'pending',
  createdAt: '2026-01-10T09:00:00.000Z',
  expiresAt: '2026-01-10T10:00:00.000Z',
  requester: { subject: 'agent-1', issuer: 'https://idp.example', groups: ['coding-agents'], kind: 'agent' },
  connection: 'clinic',
  protocol: 'postgres',
  sessionId: 's-1',
  text: 'DELETE FROM patients WHERE discharged < now()',
  binding: 'b',
  action: 'write',
  objects: ['patients'],
  bulk: false,
  rule: 'phi-writes-need-review',
  reason: 'writes to PHI tables need a clinical lead',
  approvers: ['clinical-leads'],
  mode: 'retry',
  estimate: { rows: 42, source: 'planner' },
};

describe('approval webhook', () => {
  it('posts a summary and the request as JSON', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      await approvalWebhook({ url, headers: { 'x-team': 'security' } })(request);
      expect(received).toHaveLength(1);
      expect(received[0]!.headers['x-team']).toBe('security');
      const body = JSON.parse(received[0]!.body) as { text: string; request: ApprovalRequest };
      expect(body.request.id).toBe('apr_0123456789ab');
      expect(body.text).toBe(summarizeRequest(request));
      expect(body.text).toContain('agent-1 (agent) wants to run a write touching patients, about 42 row(s) by planner on clinic');
      expect(body.text).toContain('warden approvals approve apr_0123456789ab');
    } finally {
      server.close();
    }
  });

  it('reports a webhook that answers with an error', async () => {
    const server = http.createServer((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      await expect(approvalWebhook({ url })(request)).rejects.toThrow('the webhook answered 500');
    } finally {
      server.close();
    }
  });
});
