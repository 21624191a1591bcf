/**
 * 16-bit floats for gradient compression: bfloat16 (float32's exponent,
 * 8 bits of significand) and IEEE binary16 (5-bit exponent, 11 bits of
 * significand, largest finite 65504). float32 → 16 bits rounds to nearest,
 * ties to even; 16 bits → float32 is exact. binary16 saturates at ±65504
 * rather than overflow to infinity (error feedback carries the rest);
 * NaN stays NaN. Written here rather than taken from a package: the loops
 * are a few lines, and they run on every gradient of every step.
 */
export type HalfFormat = 'bf16' | 'fp16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(format: HalfFormat, src: Float32Array, out: Uint16Array): void {
  if (out.length !== src.length) throw new RangeError(`${src.length} values into ${out.length}`);
  if (format === 'bf16') toBf16(new Uint32Array(src.buffer, src.byteOffset, src.length), out);
  else toFp16(src, out);
}

export function fromHalf(format: HalfFormat, src: Uint16Array, out: Float32Array): void {
  if (out.length !== src.length) throw new RangeError(`${src.length} values into ${out.length}`);
  if (format === 'bf16') fromBf16(src, new Uint32Array(out.buffer, out.byteOffset, out.length));
  else fromFp16(src, out);
}

/**
 * `v` rounded to the format in place, in one pass: returns the 16-bit
 * patterns, and adds what the rounding took from each value to
 * residual[at + i] (error feedback).
 */
export function roundKeeping(format: HalfFormat, v: Float32Array, residual: Float32Array, at: number): Uint16Array {
  const h = new Uint16Array(v.length);
  if (format === 'bf16') {
    const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const b = bits[i];
      const r = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
      h[i] = r;
      bits[i] = r << 16;
      residual[at + i] += x - v[i];
    }
    return h;
  }
  toFp16(v, h);
  for (let i = 0; i < v.length; i++) {
    const y = FP16_TABLE[h[i]];
    residual[at + i] += v[i] - y;
    v[i] = y;
  }
  return h;
}

function toBf16(bits: Uint32Array, out: Uint16Array): void {
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    // NaN: keep it a quiet NaN (rounding could carry into the exponent and make it infinite).
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}

function fromBf16(h: Uint16Array, bits: Uint32Array): void {
  for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
}

function toFp16(src: Float32Array, out: Uint16Array): void {
  for (let i = 0; i < src.length; i++) {
    f32[0] = src[i];
    const b = u32[0];
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    const mant = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | (mant !== 0 ? 0x7e00 : 0x7bff); // NaN stays NaN; ±∞ saturates like any overflow
      continue;
    }
    const e = exp - 127 + 15; // the binary16 exponent field
    if (e >= 31) {
      out[i] = sign | 0x7bff;
      continue;
    }
    if (e <= 0) {
      // Subnormal (or zero) in binary16: the significand with its implicit bit, shifted right, rounded.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const m = mant | 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = m & ((1 << shift) - 1);
      let r = m >>> shift;
      if (rest > half || (rest === half && (r & 1) === 1)) r++;
      out[i] = sign | r;
      continue;
    }
    const rest = mant & 0x1fff;
    let r = (e << 10) | (mant >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++;
    out[i] = sign | (r >= 0x7c00 ? 0x7bff : r); // rounding up past 65504 saturates too
  }
}

const FP16_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

function fromFp16(h: Uint16Array, out: Float32Array): void {
  for (let i = 0; i < h.length; i++) out[i] = FP16_TABLE[h[i]];
}
