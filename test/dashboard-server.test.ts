/**
 * The dashboard's server alone, in process: the page and its files, a job's
 * snapshot and its event stream as the job view changes, pictures only by
 * the names the job wrote, read-only, and only requests addressed to
 * loopback when bound to loopback (a rebound DNS name is refused).
 */
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Dashboard, serveDashboard, type ServedDashboard } from '../src/observe/dashboard.js';
import { JobView } from '../src/observe/job-view.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir();
let served: ServedDashboard | undefined;
afterAll(async () => {
  await served?.close();
  tmp.cleanup();
});

/** A raw GET (or other method) with the Host header given. */
function get(url: string, opts: { host?: string; method?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {}, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe("the dashboard's server", () => {
  it('serves the page, the job, its events and its pictures; nothing else', async () => {
    const board = new Dashboard();
    const view = board.add(new JobView('job-1', 'job one', 'supervised', tmp.dir));
    served = await serveDashboard(board, 0);
    const base = served.url;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    expect((await get(base)).type).toMatch(/text\/html/);
    expect((await get(`${base}jobs/job-1`)).body).toContain('/static/dashboard.js');
    for (const f of ['dashboard.js', 'dashboard.css', 'uplot.js', 'uplot.css']) expect((await get(`${base}static/${f}`)).status).toBe(200);
    expect(JSON.parse((await get(`${base}api/jobs`)).body)).toEqual([expect.objectContaining({ id: 'job-1', name: 'job one', status: 'running' })]);

    // Events as the view changes.
    const events: string[] = [];
    const stream = await fetch(`${base}api/jobs/job-1/events`);
    const reader = stream.body!.getReader();
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        events.push(Buffer.from(value).toString());
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    view.planned(10);
    view.log({ loss: 1.5, accuracy: 0.5 }, 1);
    view.step(0, [{ rank: 0, host: 'h', count: 4, computeMs: 2, commMs: 3, waitMs: 1 }]);
    await new Promise((r) => setTimeout(r, 700));
    const text = events.join('');
    expect(text).toContain('event: metrics\ndata: {"group":"train","point":{"step":1,"loss":1.5,"accuracy":0.5}}');
    expect(text).toMatch(/event: workers\ndata: \[\{"rank":0,"host":"h","step":1,"computeMs":2,"waitMs":1,"collectiveMs":2,"straggler":false\}\]/);
    expect(text).toMatch(/event: status\ndata: \{"status":"running","step":1,"totalSteps":10/);
    await reader.cancel();
    await reading;

    const snapshot = JSON.parse((await get(`${base}api/jobs/job-1`)).body) as { series: { train: unknown[] }; workers: unknown[] };
    expect(snapshot.series.train).toEqual([{ step: 1, loss: 1.5, accuracy: 0.5 }]);
    expect(snapshot.workers.length).toBe(1);

    // Pictures: only under the names the job wrote them.
    writeFileSync(join(tmp.dir, 'grid.png'), Buffer.from('not really a png'));
    expect((await get(`${base}api/jobs/job-1/files/samples`)).status).toBe(404);
    view.picture({ tag: 'samples', file: 'grid.png', png: new Uint8Array(), width: 1, height: 1, channels: 1 }, 3);
    const pic = await get(`${base}api/jobs/job-1/files/samples`);
    expect([pic.status, pic.type, pic.body]).toEqual([200, 'image/png', 'not really a png']);
    expect((await get(`${base}api/jobs/job-1/files/..%2F..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
    expect((await get(`${base}api/jobs/nobody`)).status).toBe(404);

    // Read-only, and HEAD on the event stream ends.
    expect((await get(`${base}api/jobs`, { method: 'POST' })).status).toBe(405);
    expect((await get(`${base}api/jobs/job-1/events`, { method: 'HEAD' })).status).toBe(200);
    // A name that is not loopback (a page whose DNS name was re-pointed here) is refused; loopback names are not.
    const port = new URL(base).port;
    expect((await get(`${base}api/jobs`, { host: `evil.example:${port}` })).status).toBe(403);
    expect((await get(`${base}api/jobs`, { host: `localhost:${port}` })).status).toBe(200);
  });
});
