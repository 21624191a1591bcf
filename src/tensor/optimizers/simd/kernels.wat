;; The optimizers' update loops in WebAssembly SIMD, four float32 lanes at a
;; time. Every operation is a single IEEE-754 float32 operation (no fused
;; multiply-add), in the order of the JavaScript reference loops in
;; ../*.ts, so the results are bit for bit those of the reference. The
;; gradient scale (1/batch times the clipping factor) is a float64, as in the
;; reference: each gradient is multiplied by it in float64 (two lanes at a
;; time) and rounded to float32 once.
;;
;; Memory layout (the host sizes the memory): n float32 values per region,
;; n a multiple of 4; region k starts at byte k·4n.
;;   region 0: parameters   region 1: gradients   regions 2, 3: the slots
;; Padding lanes hold zeros in every region, which every update keeps finite.
;;
;; Subnormal numbers: x86 takes a microcode assist (~100 cycles) for every
;; float32 operation that reads or yields one, and IEEE arithmetic (which
;; WebAssembly mandates: no flush-to-zero) keeps them: a slot whose gradient
;; stays zero decays into the subnormals and stays at the smallest one
;; (0.9 · 2^-149 rounds back to 2^-149). With a tenth of the quick-start
;; MLP's slots there, Adam's step took 3× as long. So each group of 4 whose
;; state or scaled gradient holds a value near enough to the subnormals that
;; an operation of the update could reach them (but not 0) runs the
;; …Exact path instead, two lanes at a time: each float32 operation done in
;; float64 and rounded to float32 (exact for + − × ÷ √, as 53 ≥ 2·24 + 2),
;; where subnormal float32 values are normal float64 ones and cost nothing
;; extra. Both paths
;; give the same bits; the test only picks the faster one.
;;
;; Compiled into kernels-wasm.ts by `npm run gen:wasm` (wabt); a test checks
;; that the committed bytes are this file's.
(module
  (memory (export "memory") 1)

  ;; Written out where used (V8 does not inline WebAssembly calls): the
  ;; exact paths round to float32 as (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero …)),
  ;; and a group of 4 is tiny where any lane x has 0 < |x| < T:
  ;; (v128.and (f32x4.lt (f32x4.abs x) T) (f32x4.ne x 0)). T depends on what the
  ;; update does with x: 2^-55 for a gradient that is squared and scaled by
  ;; 1 − β2 (≥ 2^-17), 2^-62 for one only squared, 2^-100 for one only scaled;
  ;; 2^-90 for a first moment (divided, then scaled by the rate), 2^-100 for a
  ;; second one (its square root is taken). The thresholds only choose the
  ;; faster path: both give the same bits.

  ;; p += f(nlr · f(g · scale))
  (func (export "sgd") (param $n i32) (param $nlr f32) (param $scale f64)
    (local $i i32) (local $gv v128) (local $end i32) (local $g i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $g (local.get $end))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (v128.store (local.get $i)
          (f32x4.add (v128.load (local.get $i))
            (f32x4.mul (f32x4.splat (local.get $nlr))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $gv)) (f64x2.splat (local.get $scale))))
          (f32x4.demote_f64x2_zero
            (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $gv) (local.get $gv)))
              (f64x2.splat (local.get $scale))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))

  ;; a = f(m · a) + gi;  p += nesterov ? f(f(gi + f(a · m)) · nlr) : f(nlr · a)
  (func (export "momentum") (param $n i32) (param $m f32) (param $nesterov i32) (param $nlr f32) (param $scale f64)
    (local $i i32) (local $gv v128) (local $end i32) (local $g i32) (local $a i32)
    (local $gi v128) (local $acc v128) (local $step v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $g (local.get $end))
    (local.set $a (i32.shl (local.get $end) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $gi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $gv)) (f64x2.splat (local.get $scale))))
          (f32x4.demote_f64x2_zero
            (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $gv) (local.get $gv)))
              (f64x2.splat (local.get $scale))))))
        (if (v128.any_true (v128.or (v128.and (f32x4.lt (f32x4.abs (local.get $gi)) (f32x4.splat (f32.const 0x1p-100))) (f32x4.ne (local.get $gi) (f32x4.splat (f32.const 0)))) (v128.and (f32x4.lt (f32x4.abs (v128.load (i32.add (local.get $a) (local.get $i)))) (f32x4.splat (f32.const 0x1p-90))) (f32x4.ne (v128.load (i32.add (local.get $a) (local.get $i))) (f32x4.splat (f32.const 0))))))
          (then
            (call $momentumExact (local.get $i) (local.get $g) (local.get $a) (local.get $m) (local.get $nesterov) (local.get $nlr) (local.get $scale))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $next)))
        (local.set $acc
          (f32x4.add (f32x4.mul (f32x4.splat (local.get $m)) (v128.load (i32.add (local.get $a) (local.get $i)))) (local.get $gi)))
        (v128.store (i32.add (local.get $a) (local.get $i)) (local.get $acc))
        (if (local.get $nesterov)
          (then
            (local.set $step
              (f32x4.mul
                (f32x4.add (local.get $gi) (f32x4.mul (local.get $acc) (f32x4.splat (local.get $m))))
                (f32x4.splat (local.get $nlr)))))
          (else
            (local.set $step (f32x4.mul (f32x4.splat (local.get $nlr)) (local.get $acc)))))
        (v128.store (local.get $i) (f32x4.add (v128.load (local.get $i)) (local.get $step)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))

  (func $momentumExact (param $i i32) (param $g i32) (param $a i32) (param $m f32) (param $nesterov i32) (param $nlr f32) (param $scale f64)
    (local $end i32) (local $gi v128) (local $acc v128) (local $mm v128)
    (local.set $end (i32.add (local.get $i) (i32.const 16)))
    (local.set $mm (f64x2.splat (f64.promote_f32 (local.get $m))))
    (loop $lane
      (local.set $gi (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $i)))) (f64x2.splat (local.get $scale))))))
      (local.set $acc (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $mm) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $a) (local.get $i))))))) (local.get $gi)))))
      (v128.store64_lane 0 (i32.add (local.get $a) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $acc)))
      (v128.store64_lane 0 (local.get $i) (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $i)))
          (if (result v128) (local.get $nesterov)
            (then (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add (local.get $gi) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $acc) (local.get $mm))))))) (f64x2.splat (f64.promote_f32 (local.get $nlr)))))))
            (else (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.splat (f64.promote_f32 (local.get $nlr))) (local.get $acc)))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $lane (i32.lt_u (local.get $i) (local.get $end)))))

  ;; a += f(gi · gi);  p += f(f(gi / f(sqrt(f(a + eps)))) · nlr)
  (func (export "adagrad") (param $n i32) (param $eps f32) (param $nlr f32) (param $scale f64)
    (local $i i32) (local $gv v128) (local $end i32) (local $g i32) (local $a i32)
    (local $gi v128) (local $acc v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $g (local.get $end))
    (local.set $a (i32.shl (local.get $end) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $gi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $gv)) (f64x2.splat (local.get $scale))))
          (f32x4.demote_f64x2_zero
            (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $gv) (local.get $gv)))
              (f64x2.splat (local.get $scale))))))
        (if (v128.any_true (v128.and (f32x4.lt (f32x4.abs (local.get $gi)) (f32x4.splat (f32.const 0x1p-62))) (f32x4.ne (local.get $gi) (f32x4.splat (f32.const 0)))))
          (then
            (call $adagradExact (local.get $i) (local.get $g) (local.get $a) (local.get $eps) (local.get $nlr) (local.get $scale))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $next)))
        (local.set $acc
          (f32x4.add (v128.load (i32.add (local.get $a) (local.get $i))) (f32x4.mul (local.get $gi) (local.get $gi))))
        (v128.store (i32.add (local.get $a) (local.get $i)) (local.get $acc))
        (v128.store (local.get $i)
          (f32x4.add (v128.load (local.get $i))
            (f32x4.mul
              (f32x4.div (local.get $gi) (f32x4.sqrt (f32x4.add (local.get $acc) (f32x4.splat (local.get $eps)))))
              (f32x4.splat (local.get $nlr)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))

  (func $adagradExact (param $i i32) (param $g i32) (param $a i32) (param $eps f32) (param $nlr f32) (param $scale f64)
    (local $end i32) (local $gi v128) (local $acc v128)
    (local.set $end (i32.add (local.get $i) (i32.const 16)))
    (loop $lane
      (local.set $gi (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $i)))) (f64x2.splat (local.get $scale))))))
      (local.set $acc (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $a) (local.get $i)))) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $gi) (local.get $gi))))))))
      (v128.store64_lane 0 (i32.add (local.get $a) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $acc)))
      (v128.store64_lane 0 (local.get $i) (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $i)))
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul
            (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.div (local.get $gi) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.sqrt (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add (local.get $acc) (f64x2.splat (f64.promote_f32 (local.get $eps))))))))))))
            (f64x2.splat (f64.promote_f32 (local.get $nlr)))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $lane (i32.lt_u (local.get $i) (local.get $end)))))

  ;; ms = f(ms · decay) + f(f(gi · gi) · (1 − decay));
  ;; mom = f(mom · momentum) + f(f(gi · lr) / f(sqrt(f(ms + eps))));  p −= mom
  (func (export "rmsprop") (param $n i32) (param $decay f32) (param $omd f32) (param $momentum f32) (param $eps f32) (param $lr f32) (param $scale f64)
    (local $i i32) (local $gv v128) (local $end i32) (local $g i32) (local $ms i32) (local $mom i32)
    (local $gi v128) (local $s v128) (local $u v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $g (local.get $end))
    (local.set $ms (i32.shl (local.get $end) (i32.const 1)))
    (local.set $mom (i32.mul (local.get $end) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $gi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $gv)) (f64x2.splat (local.get $scale))))
          (f32x4.demote_f64x2_zero
            (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $gv) (local.get $gv)))
              (f64x2.splat (local.get $scale))))))
        (if (v128.any_true
              (v128.or (v128.and (f32x4.lt (f32x4.abs (local.get $gi)) (f32x4.splat (f32.const 0x1p-55))) (f32x4.ne (local.get $gi) (f32x4.splat (f32.const 0))))
                (v128.or (v128.and (f32x4.lt (f32x4.abs (v128.load (i32.add (local.get $ms) (local.get $i)))) (f32x4.splat (f32.const 0x1p-100))) (f32x4.ne (v128.load (i32.add (local.get $ms) (local.get $i))) (f32x4.splat (f32.const 0)))) (v128.and (f32x4.lt (f32x4.abs (v128.load (i32.add (local.get $mom) (local.get $i)))) (f32x4.splat (f32.const 0x1p-90))) (f32x4.ne (v128.load (i32.add (local.get $mom) (local.get $i))) (f32x4.splat (f32.const 0)))))))
          (then
            (call $rmspropExact (local.get $i) (local.get $g) (local.get $ms) (local.get $mom) (local.get $decay) (local.get $omd) (local.get $momentum) (local.get $eps) (local.get $lr) (local.get $scale))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $next)))
        (local.set $s
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $ms) (local.get $i))) (f32x4.splat (local.get $decay)))
            (f32x4.mul (f32x4.mul (local.get $gi) (local.get $gi)) (f32x4.splat (local.get $omd)))))
        (v128.store (i32.add (local.get $ms) (local.get $i)) (local.get $s))
        (local.set $u
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $mom) (local.get $i))) (f32x4.splat (local.get $momentum)))
            (f32x4.div
              (f32x4.mul (local.get $gi) (f32x4.splat (local.get $lr)))
              (f32x4.sqrt (f32x4.add (local.get $s) (f32x4.splat (local.get $eps)))))))
        (v128.store (i32.add (local.get $mom) (local.get $i)) (local.get $u))
        (v128.store (local.get $i) (f32x4.sub (v128.load (local.get $i)) (local.get $u)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))

  (func $rmspropExact (param $i i32) (param $g i32) (param $ms i32) (param $mom i32)
        (param $decay f32) (param $omd f32) (param $momentum f32) (param $eps f32) (param $lr f32) (param $scale f64)
    (local $end i32) (local $gi v128) (local $s v128) (local $u v128)
    (local.set $end (i32.add (local.get $i) (i32.const 16)))
    (loop $lane
      (local.set $gi (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $i)))) (f64x2.splat (local.get $scale))))))
      (local.set $s (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $ms) (local.get $i)))) (f64x2.splat (f64.promote_f32 (local.get $decay))))))
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $gi) (local.get $gi)))) (f64x2.splat (f64.promote_f32 (local.get $omd))))))))))
      (v128.store64_lane 0 (i32.add (local.get $ms) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $s)))
      (local.set $u (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $mom) (local.get $i)))) (f64x2.splat (f64.promote_f32 (local.get $momentum))))))
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.div
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $gi) (f64x2.splat (f64.promote_f32 (local.get $lr))))))
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.sqrt (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add (local.get $s) (f64x2.splat (f64.promote_f32 (local.get $eps))))))))))))))))
      (v128.store64_lane 0 (i32.add (local.get $mom) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $u)))
      (v128.store64_lane 0 (local.get $i) (f32x4.demote_f64x2_zero (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $i))) (local.get $u))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $lane (i32.lt_u (local.get $i) (local.get $end)))))

  ;; m = f(b1 · m) + f(ob1 · gi);  v = f(b2 · v) + f(ob2 · f(gi · gi));
  ;; p += f(f(f(m / c1) / f(f(sqrt(f(v / c2))) + eps)) · nlr)
  (func (export "adam") (param $n i32) (param $b1 f32) (param $b2 f32) (param $ob1 f32) (param $ob2 f32)
        (param $c1 f32) (param $c2 f32) (param $eps f32) (param $nlr f32) (param $scale f64)
    (local $i i32) (local $gv v128) (local $end i32) (local $g i32) (local $m i32) (local $v i32)
    (local $gi v128) (local $mi v128) (local $vi v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $g (local.get $end))
    (local.set $m (i32.shl (local.get $end) (i32.const 1)))
    (local.set $v (i32.mul (local.get $end) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $gi (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $gv)) (f64x2.splat (local.get $scale))))
          (f32x4.demote_f64x2_zero
            (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $gv) (local.get $gv)))
              (f64x2.splat (local.get $scale))))))
        (if (v128.any_true
              (v128.or (v128.and (f32x4.lt (f32x4.abs (local.get $gi)) (f32x4.splat (f32.const 0x1p-55))) (f32x4.ne (local.get $gi) (f32x4.splat (f32.const 0))))
                (v128.or (v128.and (f32x4.lt (f32x4.abs (v128.load (i32.add (local.get $m) (local.get $i)))) (f32x4.splat (f32.const 0x1p-90))) (f32x4.ne (v128.load (i32.add (local.get $m) (local.get $i))) (f32x4.splat (f32.const 0)))) (v128.and (f32x4.lt (f32x4.abs (v128.load (i32.add (local.get $v) (local.get $i)))) (f32x4.splat (f32.const 0x1p-100))) (f32x4.ne (v128.load (i32.add (local.get $v) (local.get $i))) (f32x4.splat (f32.const 0)))))))
          (then
            (call $adamExact (local.get $i) (local.get $g) (local.get $m) (local.get $v) (local.get $b1) (local.get $b2) (local.get $ob1) (local.get $ob2)
              (local.get $c1) (local.get $c2) (local.get $eps) (local.get $nlr) (local.get $scale))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $next)))
        (local.set $mi
          (f32x4.add
            (f32x4.mul (f32x4.splat (local.get $b1)) (v128.load (i32.add (local.get $m) (local.get $i))))
            (f32x4.mul (f32x4.splat (local.get $ob1)) (local.get $gi))))
        (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mi))
        (local.set $vi
          (f32x4.add
            (f32x4.mul (f32x4.splat (local.get $b2)) (v128.load (i32.add (local.get $v) (local.get $i))))
            (f32x4.mul (f32x4.splat (local.get $ob2)) (f32x4.mul (local.get $gi) (local.get $gi)))))
        (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vi))
        (v128.store (local.get $i)
          (f32x4.add (v128.load (local.get $i))
            (f32x4.mul
              (f32x4.div
                (f32x4.div (local.get $mi) (f32x4.splat (local.get $c1)))
                (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vi) (f32x4.splat (local.get $c2)))) (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $nlr)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))

  (func $adamExact (param $i i32) (param $g i32) (param $m i32) (param $v i32) (param $b1 f32) (param $b2 f32) (param $ob1 f32) (param $ob2 f32)
        (param $c1 f32) (param $c2 f32) (param $eps f32) (param $nlr f32) (param $scale f64)
    (local $end i32) (local $gi v128) (local $mi v128) (local $vi v128)
    (local.set $end (i32.add (local.get $i) (i32.const 16)))
    (loop $lane
      (local.set $gi (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $i)))) (f64x2.splat (local.get $scale))))))
      (local.set $mi (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.splat (f64.promote_f32 (local.get $b1))) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $m) (local.get $i)))))))
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.splat (f64.promote_f32 (local.get $ob1))) (local.get $gi))))))))
      (v128.store64_lane 0 (i32.add (local.get $m) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $mi)))
      (local.set $vi (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.splat (f64.promote_f32 (local.get $b2))) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $v) (local.get $i)))))))
        (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.splat (f64.promote_f32 (local.get $ob2))) (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $gi) (local.get $gi)))))))))))
      (v128.store64_lane 0 (i32.add (local.get $v) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $vi)))
      (v128.store64_lane 0 (local.get $i) (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $i)))
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul
            (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.div
              (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.div (local.get $mi) (f64x2.splat (f64.promote_f32 (local.get $c1))))))
              (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add
                (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.sqrt (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.div (local.get $vi) (f64x2.splat (f64.promote_f32 (local.get $c2)))))))))
                (f64x2.splat (f64.promote_f32 (local.get $eps)))))))))
            (f64x2.splat (f64.promote_f32 (local.get $nlr)))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $lane (i32.lt_u (local.get $i) (local.get $end)))))
)
