/** The conformance suite every Channel transport passes. */
import { describe, expect, it } from 'vitest';
import { ClosedError, type Channel } from '../../src/wire/transport.js';

export type ChannelFactory = () => Promise<{ a: Channel; b: Channel; close(): Promise<void> | void }>;

export function channelConformance(name: string, factory: ChannelFactory) {
  describe(`${name}: Channel conformance`, () => {
    it('delivers multipart messages in order, byte for byte', async () => {
      const { a, b, close } = await factory();
      try {
        const sent = Array.from({ length: 50 }, (_, i) => [Buffer.from(`head ${i}`), Buffer.alloc(i * 100, i)]);
        await Promise.all(sent.map((m) => a.send(m)));
        for (const m of sent) {
          const got = await b.receive();
          expect(got.length).toBe(2);
          expect(Buffer.from(got[0]).toString()).toBe(m[0].toString());
          expect(Buffer.compare(Buffer.from(got[1]), m[1])).toBe(0);
        }
      } finally {
        await close();
      }
    });
    it('carries a 16 MiB frame intact', async () => {
      const { a, b, close } = await factory();
      try {
        const big = new Float32Array(4 * 1024 * 1024).map((_, i) => i * 0.5);
        await a.send([Buffer.from('x'), Buffer.from(big.buffer)]);
        const got = await b.receive();
        const f = new Float32Array(new Uint8Array(got[1]).slice().buffer);
        expect(f.length).toBe(big.length);
        expect(f[123_457]).toBe(123_457 * 0.5);
        expect(f[f.length - 1]).toBe((big.length - 1) * 0.5);
      } finally {
        await close();
      }
    });
    it('rejects a pending receive with ClosedError when closed', async () => {
      const { b, close } = await factory();
      try {
        const pending = b.receive();
        b.close();
        await expect(pending).rejects.toBeInstanceOf(ClosedError);
      } finally {
        await close();
      }
    });
  });
}
