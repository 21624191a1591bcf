/**
 * The live dashboard and straggler detection, end to end. A 2-worker
 * `dtrain run --dashboard 0` trains; one worker is made a straggler for real
 * by pinning it to one core with two busy processes (taskset), the other and the
 * coordinator to the other core. Headless Chromium (Debian chromium, driven
 * by playwright-core; skipped with the reason when it is missing) loads the
 * jobs list and the job page and sees the job's name, a loss curve that
 * grows between two screenshots, the worker table with both workers, and
 * the slow one highlighted as a straggler. The run, cancelled with SIGINT,
 * names it in the log and in summary.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, startCli, tempDir, waitForOutput, writeJob } from './helpers/cli.js';
import { until, withDeadline } from './helpers/fake-peer.js';
import { joinedSoFar, summaryOf } from './helpers/runs.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const tmp = tempDir();
const hogs: ChildProcess[] = [];
afterAll(() => {
  for (const h of hogs) h.kill('SIGKILL');
  killStarted();
  tmp.cleanup();
});

const pin = (pid: number, cpu: number) => expect(spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)]).status).toBe(0);

describe.skipIf(!hasChromium || !hasTaskset)(`the dashboard in headless Chromium (${hasChromium ? '' : `${CHROMIUM} missing: apt-get install chromium; `}${hasTaskset ? '' : 'taskset missing'})`, () => {
  it('shows the job, a growing curve and the workers; a worker slowed down is named a straggler there, in the log and in the summary', async () => {
    const job = {
      name: 'dash-job',
      seed: 2,
      // Steps of some 15 ms of compute: long enough that a worker given half a core takes about twice as long.
      data: { source: 'synthetic', kind: 'blobs', samples: 4000, features: 64, classes: 4 },
      model: { zoo: 'mlp', hidden: [128, 128] },
      train: { epochs: 100, batchSize: 100, logEvery: 2, evalEvery: 100, checkpoint: { minutes: 0 } },
      cluster: { workers: 2, backend: 'cpu' },
    };
    const out = join(tmp.dir, 'dash');
    const run = startCli(['run', writeJob(tmp.dir, 'dash.json', job), '--out', out, '--dashboard', '0']);
    const page0 = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)jobs\/dash-job/.exec(await waitForOutput(run.child, /dashboard: http:\/\/127\.0\.0\.1:\d+\/jobs\/dash-job/))!;
    const base = page0[1];
    // The coordinator logs every member that joins, with its pid.
    await until(() => joinedSoFar(out, 'worker').length === 2, 'both workers joined', 30_000);
    const pids = new Map(joinedSoFar(out, 'worker').map((w) => [w.rank, w.memberPid]));
    // Worker 1 shares core 1 with two busy loops (a third of the core, whatever the browser takes);
    // worker 0 and the coordinator have core 0.
    for (let i = 0; i < 2; i++) {
      const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
      hogs.push(hog);
      pin(hog.pid!, 1);
    }
    pin(pids.get(1)!, 1);
    pin(pids.get(0)!, 0);
    pin(run.child.pid!, 0);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(base, { timeout: 20_000 });
      await page.locator('#jobs tr[data-job="dash-job"]').waitFor({ timeout: 20_000 });
      expect(await page.locator('#jobs tr[data-job="dash-job"]').innerText()).toMatch(/dash-job/);

      await page.goto(`${base}jobs/dash-job`, { timeout: 20_000 });
      await expect.poll(() => page.locator('#job-name').innerText(), { timeout: 20_000 }).toBe('dash-job');
      await expect.poll(() => page.locator('#workers tr[data-rank]').count(), { timeout: 20_000 }).toBe(2);
      const chart = page.locator('.chart[data-metric="loss"]');
      const points = async () => Number(await chart.getAttribute('data-points'));
      await expect.poll(points, { timeout: 20_000 }).toBeGreaterThan(1);
      const [shot1, n1] = [await chart.screenshot(), await points()];
      await expect.poll(points, { timeout: 20_000 }).toBeGreaterThan(n1 + 2);
      const [shot2, n2] = [await chart.screenshot(), await points()];
      expect(n2).toBeGreaterThan(n1);
      expect(shot2.equals(shot1)).toBe(false);
      expect(await page.locator('#throughput').innerText()).toMatch(/[\d,]+ samples\/s/);

      // The slow worker is highlighted, the other is not.
      await page.locator('#workers tr.straggler[data-rank="1"]').waitFor({ timeout: 60_000 });
      expect(await page.locator('#workers tr.straggler').count()).toBe(1);
      expect(await page.locator('#stragglers').innerText()).toMatch(/worker 1/);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
    for (const h of hogs) h.kill('SIGKILL');
    run.child.kill('SIGINT');
    const r = await withDeadline(run.done, 60_000, 'the run after SIGINT');
    expect(r.code, r.stderr).toBe(130);
    const summary = summaryOf<{ status: string; stragglers?: { rank: number; ratio: number; sinceStep: number }[] }>(out);
    expect(summary.status).toBe('cancelled');
    expect(summary.stragglers?.map((s) => s.rank)).toContain(1);
    expect(summary.stragglers?.every((s) => s.rank === 1 && s.ratio >= 1.25)).toBe(true);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8')).toMatch(/worker #1 on [^ ]+ is a straggler: its compute takes/);
    // The dashboard ends with the run.
    await expect(fetch(base, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
  });
});
