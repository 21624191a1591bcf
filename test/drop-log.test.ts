/** Dropped-message logs stay a few lines however many junk frames arrive, and still count every one. */
import { describe, expect, it } from 'vitest';
import { DropLog } from '../src/util/drop-log.js';
import { sleep, until } from './helpers/fake-peer.js';

function capture(burst: number, everyMs: number): { log: DropLog; lines: { fields: Record<string, unknown>; msg: string }[] } {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  return { log: new DropLog((fields, msg) => lines.push({ fields, msg }), { burst, everyMs }), lines };
}

describe('DropLog', () => {
  it('10,000 drops in one interval: the first 5 one by one, then one line summing up the rest', () => {
    const { log, lines } = capture(5, 60_000);
    for (let i = 0; i < 10_000; i++) log.drop(`junk ${i}`, { peer: 'p' });
    expect(lines).toHaveLength(5);
    expect(lines.map((l) => l.fields.reason)).toEqual(['junk 0', 'junk 1', 'junk 2', 'junk 3', 'junk 4']);
    expect(lines[4].fields).toMatchObject({ peer: 'p', dropped: 5 });
    log.close();
    expect(lines).toHaveLength(6);
    expect(lines[5]).toMatchObject({ msg: 'dropped a malformed message: 9995 more (not logged one by one)', fields: { suppressed: 9995, dropped: 10_000, lastReason: 'junk 9999' } });
    expect(log.total).toBe(10_000);
  });

  it('a few drops are each logged, with no summary line (nothing was held back)', () => {
    const { log, lines } = capture(5, 60_000);
    for (let i = 0; i < 3; i++) log.drop('bad');
    log.close();
    expect(lines.map((l) => l.msg)).toEqual(['dropped a malformed message', 'dropped a malformed message', 'dropped a malformed message']);
  });

  it('each interval starts afresh, and its summary comes when it ends even if the drops stop', async () => {
    const { log, lines } = capture(2, 100);
    for (let i = 0; i < 50; i++) log.drop('a');
    expect(lines).toHaveLength(2);
    await until(() => lines.length === 3, 'the summary at the end of the interval', 2000);
    expect(lines[2].fields).toMatchObject({ suppressed: 48, dropped: 50 });
    await sleep(120);
    for (let i = 0; i < 3; i++) log.drop('b');
    expect(lines.slice(3).map((l) => l.fields.reason)).toEqual(['b', 'b']);
    log.close();
    expect(lines.at(-1)!.fields).toMatchObject({ suppressed: 1, dropped: 53 });
  });
});
