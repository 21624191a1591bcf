// The README's pictures of watching a job: runs the quick start
// (configs/fashion-mnist-mlp.yaml, 2 workers) with --dashboard, screenshots
// the dashboard in headless Chromium (Debian chromium, playwright-core) once
// most of the run is done, and copies the run's own plots/loss.png.
//   npm run build && node scripts/readme-pictures.mjs
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'dtrain-readme-'));
const run = spawn(process.execPath, [join(root, 'bin/dtrain.js'), 'run', join(root, 'configs/fashion-mnist-mlp.yaml'), '--workers', '2', '--out', join(out, 'run'), '--dashboard', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
let seen = '';
const url = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`no dashboard URL in 60 s:\n${seen}`)), 60_000);
  run.stderr.on('data', (d) => {
    seen += d;
    const m = /dashboard: (http:\/\/\S+)/.exec(seen);
    if (m) {
      clearTimeout(t);
      resolve(m[1]);
    }
  });
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url);
  // Most of the run: 8 of its 10 epochs (469 steps each).
  await page.waitForFunction(() => Number(document.querySelector('#progress-text')?.textContent?.replace(/,/g, '').match(/(\d+)\s*\//)?.[1] ?? 0) >= 3752, undefined, { timeout: 300_000, polling: 1000 });
  await page.screenshot({ path: join(root, 'docs/images/dashboard.png'), fullPage: true });
} finally {
  await browser.close();
}
const code = await new Promise((resolve) => run.on('close', resolve));
if (code !== 0) throw new Error(`the run ended with ${code}:\n${seen}`);
copyFileSync(join(out, 'run', 'plots', 'loss.png'), join(root, 'docs/images/plots-loss.png'));
rmSync(out, { recursive: true, force: true });
console.log('wrote docs/images/dashboard.png and docs/images/plots-loss.png');
