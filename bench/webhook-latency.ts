/**
 * Benchmark: webhook ack latency (p50/p99) at the Connect surface, and webhook → final build status
 * latency through the whole pipeline, against the local Bitbucket sandbox on loopback (SQLite store,
 * table queue). Bounded: a fixed number of requests, then it stops. `--write` records the results in
 * bench/RESULTS.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import pino from 'pino';
import { loadAppConfig } from '../src/config/app-config';
import { startSandbox } from '../src/sandbox';
import { startClawgate } from '../src/server/create-server';
import { finalStatus, openAgentPullRequest, prepareWorkspace } from '../test/e2e/harness';
import { freePort } from '../src/server/free-port';

const ACKS = 500;
const PIPELINE_RUNS = 30;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-bench-'));
  const sandbox = await startSandbox();
  const port = await freePort();
  const config = loadAppConfig({
    PORT: String(port),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    CLAWGATE_SECRET_KEY: Buffer.alloc(32, 3).toString('hex'),
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
  });
  const app = await startClawgate({ config, port, logger: pino({ level: 'silent' }), pollIntervalMs: 20, env: {} });
  try {
    const ws = await prepareWorkspace(sandbox, app.url);
    const installation = sandbox.listInstallations()[0];
    if (!installation) throw new Error('not installed');

    // 1. Webhook → final status, end to end (sandbox delivers the webhook, clawgate publishes).
    const pipeline: number[] = [];
    for (let i = 0; i < PIPELINE_RUNS; i++) {
      const started = process.hrtime.bigint();
      const pr = openAgentPullRequest(sandbox, ws, `agent/bench-${i}`, {
        [`src/b${i}.ts`]: `export const b = ${i};\n`,
      });
      const status = await finalStatus(sandbox, pr.head, 30_000);
      if (status.state !== 'SUCCESSFUL') throw new Error(`bench PR ${i} got ${String(status.state)}`);
      pipeline.push(Number(process.hrtime.bigint() - started) / 1e6);
    }

    // 2. Ack latency: signed deliveries of pullrequest:updated for an existing PR (each a new delivery id).
    // Reuse the exact bytes Bitbucket (the sandbox) delivered for the first PR.
    const delivered = sandbox.deliveries.find((d) => d.event === 'pullrequest:created');
    if (!delivered) throw new Error('no delivery recorded');
    const body = Buffer.from(delivered.body).toString('utf8').replace('"pullrequest:created"', '"pullrequest:updated"');
    const acks: number[] = [];
    for (let i = 0; i < ACKS; i++) {
      const iat = Math.floor(Date.now() / 1000);
      const jwt = encodeSymmetric(
        {
          iss: installation.clientKey,
          aud: installation.clientKey,
          iat,
          exp: iat + 60,
          qsh: createQueryStringHash(fromMethodAndUrl('POST', '/connect/webhook'), false),
        },
        installation.sharedSecret,
      );
      const started = process.hrtime.bigint();
      const response = await fetch(`${app.url}/connect/webhook`, {
        method: 'POST',
        headers: {
          authorization: `JWT ${jwt}`,
          'content-type': 'application/json',
          'x-event-key': 'pullrequest:updated',
          'x-request-uuid': randomUUID(),
          'x-hook-uuid': randomUUID(),
          'x-attempt-number': '1',
        },
        body,
      });
      await response.arrayBuffer();
      acks.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (response.status >= 300) throw new Error(`ack ${i}: ${response.status}`);
    }

    const report = [
      '| measurement | n | p50 (ms) | p99 (ms) | max (ms) |',
      '|---|---:|---:|---:|---:|',
      `| webhook ack (POST /connect/webhook → 2xx) | ${ACKS} | ${percentile(acks, 50).toFixed(1)} | ${percentile(acks, 99).toFixed(1)} | ${Math.max(...acks).toFixed(1)} |`,
      `| PR opened → final build status (whole pipeline) | ${PIPELINE_RUNS} | ${percentile(pipeline, 50).toFixed(1)} | ${percentile(pipeline, 99).toFixed(1)} | ${Math.max(...pipeline).toFixed(1)} |`,
      '',
      `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}, SQLite store, table queue (20 ms poll), sandbox on loopback. Date: ${new Date().toISOString().slice(0, 10)}.`,
      '',
    ].join('\n');
    process.stdout.write(report);
    if (process.argv.includes('--write')) {
      const file = path.join(__dirname, 'RESULTS.md');
      const marker = '<!-- webhook-latency -->';
      const existing = readFileSync(file, 'utf8');
      const parts = existing.split(marker);
      const updated =
        parts.length === 3
          ? `${parts[0]}${marker}\n${report}${marker}${parts[2]}`
          : `${existing}\n## Webhook ack and webhook → status latency (\`npm run bench:webhooks\`)\n\n${marker}\n${report}${marker}\n`;
      writeFileSync(file, updated);
    }
  } finally {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
