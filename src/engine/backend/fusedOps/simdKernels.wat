;; The inner loops of the fused training kernels (batch norm in training mode, ReLU with a ceiling) and of
;; the depthwise convolution's weight gradient, in
;; WebAssembly with 128-bit SIMD: four float32 lanes per instruction, where the same loops in JavaScript
;; run one value at a time (and branch on every value). Assembled into simdKernelsWasm.ts by
;; scripts/assembleWat.mjs at build time. The memory is imported (shared): the wasm backend's own heap
;; when tfjs-backend-wasm runs its multi-threaded build — the kernels then read and write tensors where
;; they are, on every thread of the kernel pool (src/engine/backend/wasmThreads/) — else a memory of
;; simdKernels.ts's own that it copies the data in and out of.
;;
;; Conventions: every pointer is a byte offset into the memory; `n` counts float32 values; a "rows × c"
;; array is row-major with c channels per row, and the functions taking one require c to be a multiple
;; of 4 (the caller uses its scalar loops otherwise). Nothing here keeps state: any thread may run any
;; function on any disjoint part of the data.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; One Adam step over n values, in tfjs' AdamOptimizer's order of float32 operations (so the same bits):
  ;;   m' = m·b1 + g·c1,  v' = v·b2 + (g·g)·c2,  w' = ((m'/d1) / (sqrt(v'/d2) + eps))·negLr + w
  ;; (c = 1 − b as float32, d = 1 − b^t, negLr = −learning rate). Outputs may not alias inputs.
  (func (export "adam_step")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32) (param $ow i32) (param $om i32) (param $ov i32)
    (param $n i32) (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $d1 f32) (param $d2 f32)
    (param $eps f32) (param $negLr f32)
    (local $o i32) (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $sb1 v128) (local $sc1 v128) (local $sb2 v128) (local $sc2 v128) (local $sd1 v128) (local $sd2 v128)
    (local $seps v128) (local $slr v128) (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $sb1 (f32x4.splat (local.get $b1)))
    (local.set $sc1 (f32x4.splat (local.get $c1)))
    (local.set $sb2 (f32x4.splat (local.get $b2)))
    (local.set $sc2 (f32x4.splat (local.get $c2)))
    (local.set $sd1 (f32x4.splat (local.get $d1)))
    (local.set $sd2 (f32x4.splat (local.get $d2)))
    (local.set $seps (f32x4.splat (local.get $eps)))
    (local.set $slr (f32x4.splat (local.get $negLr)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $simd
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $sb1))
                                  (f32x4.mul (local.get $gv) (local.get $sc1))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $sb2))
                                  (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $sc2))))
        (v128.store (i32.add (local.get $om) (local.get $o)) (local.get $mv))
        (v128.store (i32.add (local.get $ov) (local.get $o)) (local.get $vv))
        (v128.store (i32.add (local.get $ow) (local.get $o))
          (f32x4.add
            (f32x4.mul
              (f32x4.div (f32x4.div (local.get $mv) (local.get $sd1))
                         (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $sd2))) (local.get $seps)))
              (local.get $slr))
            (v128.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $simd)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $ms (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
                                (f32.mul (local.get $gs) (local.get $c1))))
        (local.set $vs (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
                                (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
        (f32.store (i32.add (local.get $om) (local.get $o)) (local.get $ms))
        (f32.store (i32.add (local.get $ov) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $ow) (local.get $o))
          (f32.add
            (f32.mul
              (f32.div (f32.div (local.get $ms) (local.get $d1))
                       (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $d2))) (local.get $eps)))
              (local.get $negLr))
            (f32.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $scalar))))

  ;; y = min(max(x, lo), hi) for n values.
  (func (export "clip") (param $x i32) (param $y i32) (param $n i32) (param $lo f32) (param $hi f32)
    (local $o i32) (local $end i32) (local $vlo v128) (local $vhi v128)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $simd
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (i32.add (local.get $y) (local.get $o))
          (f32x4.min (f32x4.max (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $vlo))
                     (local.get $vhi)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $simd)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (f32.store (i32.add (local.get $y) (local.get $o))
          (f32.min (f32.max (f32.load (i32.add (local.get $x) (local.get $o))) (local.get $lo)) (local.get $hi)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $scalar))))

  ;; dx = dy where 0 < x <= hi, else 0.
  (func (export "clipped_relu_grad") (param $dy i32) (param $x i32) (param $dx i32) (param $n i32) (param $hi f32)
    (local $o i32) (local $end i32) (local $vhi v128) (local $zero v128) (local $v v128) (local $s f32)
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $zero (v128.const f32x4 0 0 0 0))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $simd
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $o))))
        (v128.store (i32.add (local.get $dx) (local.get $o))
          (v128.and
            (v128.load (i32.add (local.get $dy) (local.get $o)))
            (v128.and (f32x4.gt (local.get $v) (local.get $zero)) (f32x4.le (local.get $v) (local.get $vhi)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $simd)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $o))))
        (f32.store (i32.add (local.get $dx) (local.get $o))
          (select
            (f32.load (i32.add (local.get $dy) (local.get $o)))
            (f32.const 0)
            (i32.and (f32.gt (local.get $s) (f32.const 0)) (f32.le (local.get $s) (local.get $hi)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $scalar))))

  ;; Per channel over all rows: sumU += Σ u and sumUV += Σ u·v, where u = a − ca and v = b − cb
  ;; (ca, cb: one value per channel). sumU and sumUV are float64 (c values each, added to, not
  ;; overwritten); the sums run in float32 over blocks of 32 rows in `scratch` (2·c floats) and are then
  ;; added into the float64 totals, so long columns keep float64 accuracy.
  (func (export "channel_sums")
    (param $a i32) (param $ca i32) (param $b i32) (param $cb i32) (param $rows i32) (param $c i32)
    (param $scratch i32) (param $sumU i32) (param $sumUV i32)
    (local $rowBytes i32) (local $row i32) (local $blockEnd i32) (local $k i32) (local $u v128)
    (local $accUV i32) (local $j i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $accUV (i32.add (local.get $scratch) (local.get $rowBytes)))
    (block $allDone
      (loop $blocks
        (br_if $allDone (i32.ge_u (local.get $row) (local.get $rows)))
        ;; zero the float32 block sums
        (local.set $k (i32.const 0))
        (block $zeroed
          (loop $zero
            (br_if $zeroed (i32.ge_u (local.get $k) (i32.shl (local.get $rowBytes) (i32.const 1))))
            (v128.store (i32.add (local.get $scratch) (local.get $k)) (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $zero)))
        (local.set $blockEnd (i32.add (local.get $row) (i32.const 32)))
        (if (i32.gt_u (local.get $blockEnd) (local.get $rows)) (then (local.set $blockEnd (local.get $rows))))
        (block $blockDone
          (loop $rowLoop
            (br_if $blockDone (i32.ge_u (local.get $row) (local.get $blockEnd)))
            (local.set $k (i32.const 0))
            (block $rowDone
              (loop $lanes
                (br_if $rowDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
                (local.set $u
                  (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $k)))
                             (v128.load (i32.add (local.get $ca) (local.get $k)))))
                (v128.store (i32.add (local.get $scratch) (local.get $k))
                  (f32x4.add (v128.load (i32.add (local.get $scratch) (local.get $k))) (local.get $u)))
                (v128.store (i32.add (local.get $accUV) (local.get $k))
                  (f32x4.add (v128.load (i32.add (local.get $accUV) (local.get $k)))
                    (f32x4.mul (local.get $u)
                      (f32x4.sub (v128.load (i32.add (local.get $b) (local.get $k)))
                                 (v128.load (i32.add (local.get $cb) (local.get $k)))))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $lanes)))
            (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
            (local.set $b (i32.add (local.get $b) (local.get $rowBytes)))
            (local.set $row (i32.add (local.get $row) (i32.const 1)))
            (br $rowLoop)))
        ;; add the block sums into the float64 totals
        (local.set $j (i32.const 0))
        (block $flushed
          (loop $flush
            (br_if $flushed (i32.ge_u (local.get $j) (local.get $c)))
            (f64.store (i32.add (local.get $sumU) (i32.shl (local.get $j) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $sumU) (i32.shl (local.get $j) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 2)))))))
            (f64.store (i32.add (local.get $sumUV) (i32.shl (local.get $j) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $sumUV) (i32.shl (local.get $j) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $accUV) (i32.shl (local.get $j) (i32.const 2)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $flush)))
        (br $blocks))))

;; The block sums of channel_sums without the float64 totals, so that blocks can be summed on several
  ;; threads: for each block of 32 rows (the last may be shorter), Σ (a − ca) and Σ (a − ca)·(b − cb) per
  ;; channel in float32, written to out as 2·c floats per block, block after block. fold_block_sums then
  ;; adds them into float64 totals in block order — the very arithmetic of channel_sums.
  (func (export "channel_block_sums")
    (param $a i32) (param $ca i32) (param $b i32) (param $cb i32) (param $rows i32) (param $c i32)
    (param $out i32)
    (local $rowBytes i32) (local $row i32) (local $blockEnd i32) (local $k i32) (local $u v128)
    (local $accUV i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (block $allDone
      (loop $blocks
        (br_if $allDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $accUV (i32.add (local.get $out) (local.get $rowBytes)))
        (local.set $k (i32.const 0))
        (block $zeroed
          (loop $zero
            (br_if $zeroed (i32.ge_u (local.get $k) (i32.shl (local.get $rowBytes) (i32.const 1))))
            (v128.store (i32.add (local.get $out) (local.get $k)) (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $zero)))
        (local.set $blockEnd (i32.add (local.get $row) (i32.const 32)))
        (if (i32.gt_u (local.get $blockEnd) (local.get $rows)) (then (local.set $blockEnd (local.get $rows))))
        (block $blockDone
          (loop $rowLoop
            (br_if $blockDone (i32.ge_u (local.get $row) (local.get $blockEnd)))
            (local.set $k (i32.const 0))
            (block $rowDone
              (loop $lanes
                (br_if $rowDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
                (local.set $u
                  (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $k)))
                             (v128.load (i32.add (local.get $ca) (local.get $k)))))
                (v128.store (i32.add (local.get $out) (local.get $k))
                  (f32x4.add (v128.load (i32.add (local.get $out) (local.get $k))) (local.get $u)))
                (v128.store (i32.add (local.get $accUV) (local.get $k))
                  (f32x4.add (v128.load (i32.add (local.get $accUV) (local.get $k)))
                    (f32x4.mul (local.get $u)
                      (f32x4.sub (v128.load (i32.add (local.get $b) (local.get $k)))
                                 (v128.load (i32.add (local.get $cb) (local.get $k)))))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $lanes)))
            (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
            (local.set $b (i32.add (local.get $b) (local.get $rowBytes)))
            (local.set $row (i32.add (local.get $row) (i32.const 1)))
            (br $rowLoop)))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $rowBytes) (i32.const 1))))
        (br $blocks))))

  ;; sumU += block sums, sumUV += block products (float64, c values each), over `count` blocks of
  ;; channel_block_sums in order.
  (func (export "fold_block_sums")
    (param $blocks i32) (param $count i32) (param $c i32) (param $sumU i32) (param $sumUV i32)
    (local $n i32) (local $j i32) (local $uv i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $n) (local.get $count)))
        (local.set $uv (i32.add (local.get $blocks) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $flushed
          (loop $flush
            (br_if $flushed (i32.ge_u (local.get $j) (local.get $c)))
            (f64.store (i32.add (local.get $sumU) (i32.shl (local.get $j) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $sumU) (i32.shl (local.get $j) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $blocks) (i32.shl (local.get $j) (i32.const 2)))))))
            (f64.store (i32.add (local.get $sumUV) (i32.shl (local.get $j) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $sumUV) (i32.shl (local.get $j) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $uv) (i32.shl (local.get $j) (i32.const 2)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $flush)))
        (local.set $blocks (i32.add (local.get $blocks) (i32.shl (local.get $c) (i32.const 3))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $each))))

  ;; out = p·(a − ca) + q·b + r, per channel p, q, r (each c values); covers y = scale·(x − μ) + β (q = 0)
  ;; and dx = k2·(x − μ) + k1·dy + k3.
  (func (export "channel_affine")
    (param $a i32) (param $ca i32) (param $b i32) (param $out i32) (param $rows i32) (param $c i32)
    (param $p i32) (param $q i32) (param $r i32)
    (local $rowBytes i32) (local $row i32) (local $k i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $k (i32.const 0))
        (block $rowDone
          (loop $lanes
            (br_if $rowDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $out) (local.get $k))
              (f32x4.add
                (f32x4.add
                  (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $k)))
                    (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $k)))
                               (v128.load (i32.add (local.get $ca) (local.get $k)))))
                  (f32x4.mul (v128.load (i32.add (local.get $q) (local.get $k)))
                             (v128.load (i32.add (local.get $b) (local.get $k)))))
                (v128.load (i32.add (local.get $r) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $lanes)))
        (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
        (local.set $b (i32.add (local.get $b) (local.get $rowBytes)))
        (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop))))

  ;; One filter tap of a depthwise convolution's weight gradient (channel multiplier 1):
  ;; totals[ch] += Σ over images b, output rows i in [iMin, iEnd), n output columns from jMin, of
  ;; x[b][i·sH + rowOffset][j·sW + colOffset][ch] · dy[b][i][j][ch]. The caller has clipped the rows and
  ;; columns to those whose tap lands inside x. totals: c float64 values (added to); scratch: c floats.
  (func (export "depthwise_tap")
    (param $x i32) (param $dy i32) (param $totals i32) (param $scratch i32)
    (param $batch i32) (param $iMin i32) (param $iEnd i32) (param $jMin i32) (param $n i32)
    (param $rowOffset i32) (param $colOffset i32)
    (param $inH i32) (param $inW i32) (param $outH i32) (param $outW i32) (param $c i32)
    (param $sH i32) (param $sW i32)
    (local $rowBytes i32) (local $xStep i32) (local $b i32) (local $i i32) (local $t i32) (local $k i32)
    (local $xp i32) (local $dyp i32) (local $j i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xStep (i32.mul (local.get $sW) (local.get $rowBytes)))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $b) (local.get $batch)))
        (local.set $i (local.get $iMin))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $iEnd)))
            (local.set $k (i32.const 0))
            (block $zeroed
              (loop $zero
                (br_if $zeroed (i32.ge_u (local.get $k) (local.get $rowBytes)))
                (v128.store (i32.add (local.get $scratch) (local.get $k)) (v128.const i32x4 0 0 0 0))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $zero)))
            (local.set $dyp (i32.add (local.get $dy)
              (i32.mul (local.get $rowBytes)
                (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outH)) (local.get $i)) (local.get $outW))
                         (local.get $jMin)))))
            (local.set $xp (i32.add (local.get $x)
              (i32.mul (local.get $rowBytes)
                (i32.add
                  (i32.mul
                    (i32.add (i32.mul (local.get $b) (local.get $inH))
                             (i32.add (i32.mul (local.get $i) (local.get $sH)) (local.get $rowOffset)))
                    (local.get $inW))
                  (i32.add (i32.mul (local.get $jMin) (local.get $sW)) (local.get $colOffset))))))
            (local.set $t (i32.const 0))
            (block $colsDone
              (loop $cols
                (br_if $colsDone (i32.ge_s (local.get $t) (local.get $n)))
                (local.set $k (i32.const 0))
                (block $lanesDone
                  (loop $lanes
                    (br_if $lanesDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
                    (v128.store (i32.add (local.get $scratch) (local.get $k))
                      (f32x4.add (v128.load (i32.add (local.get $scratch) (local.get $k)))
                        (f32x4.mul (v128.load (i32.add (local.get $xp) (local.get $k)))
                                   (v128.load (i32.add (local.get $dyp) (local.get $k))))))
                    (local.set $k (i32.add (local.get $k) (i32.const 16)))
                    (br $lanes)))
                (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
                (local.set $dyp (i32.add (local.get $dyp) (local.get $rowBytes)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $cols)))
            (local.set $j (i32.const 0))
            (block $flushed
              (loop $flush
                (br_if $flushed (i32.ge_u (local.get $j) (local.get $c)))
                (f64.store (i32.add (local.get $totals) (i32.shl (local.get $j) (i32.const 3)))
                  (f64.add (f64.load (i32.add (local.get $totals) (i32.shl (local.get $j) (i32.const 3))))
                    (f64.promote_f32 (f32.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 2)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $flush)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $images))))
)
