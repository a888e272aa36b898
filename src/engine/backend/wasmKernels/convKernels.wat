;; Convolution kernels of the wasm backend's training step, in WebAssembly with 128-bit SIMD, for the
;; kernel pool (src/engine/backend/wasmThreads/): the 1×1 convolution and its input gradient as matrix
;; products, every convolution's weight gradient, and the depthwise convolution with its input gradient.
;; They read and write tensors in place in the backend's shared heap, each call one disjoint part of the
;; output (rows of it, or one tile of a weight gradient), so the pool's threads can run them side by side;
;; nothing is reduced across calls, so the result does not depend on how the parts are shared out.
;; Assembled into convKernelsWasm.ts by scripts/assembleWat.mjs; the tasks in convTasks.ts call them.
;;
;; Conventions: pointers are byte offsets into the memory, strides are in bytes, tensors are float32
;; NHWC; a count of channels the SIMD loops take must be a multiple of 4 (the callers check and leave
;; other shapes to the backend's own kernels). Register tiles: 4 rows × 8 columns (a row: a position,
;; a column: an output channel), with 1-row and 4-column remainders.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; 4 rows × 8 columns of C = A·B: A rows aStride bytes apart (k values each), B row-major
  ;; with rows bStride bytes apart, C rows cStride bytes apart.
  (func $gemm_tile_4x8 (param $a i32) (param $aStride i32) (param $b i32) (param $bStride i32) (param $k i32)
    (param $c i32) (param $cStride i32)
    (local $kk i32) (local $pb i32) (local $s v128) (local $b0 v128) (local $b1 v128)
    (local $acc0_0 v128) (local $acc0_1 v128) (local $acc1_0 v128) (local $acc1_1 v128) (local $acc2_0 v128) (local $acc2_1 v128) (local $acc3_0 v128) (local $acc3_1 v128)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32)
    (local.set $pa0 (local.get $a))
    (local.set $pa1 (i32.add (local.get $pa0) (local.get $aStride)))
    (local.set $pa2 (i32.add (local.get $pa1) (local.get $aStride)))
    (local.set $pa3 (i32.add (local.get $pa2) (local.get $aStride)))
    (local.set $pb (local.get $b))
    (block $done
      (loop $ks
        (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $b0 (v128.load offset=0 (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $s (v128.load32_splat (local.get $pa0)))
        (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $acc0_1 (f32x4.add (local.get $acc0_1) (f32x4.mul (local.get $s) (local.get $b1))))
        (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
        (local.set $s (v128.load32_splat (local.get $pa1)))
        (local.set $acc1_0 (f32x4.add (local.get $acc1_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $acc1_1 (f32x4.add (local.get $acc1_1) (f32x4.mul (local.get $s) (local.get $b1))))
        (local.set $pa1 (i32.add (local.get $pa1) (i32.const 4)))
        (local.set $s (v128.load32_splat (local.get $pa2)))
        (local.set $acc2_0 (f32x4.add (local.get $acc2_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $acc2_1 (f32x4.add (local.get $acc2_1) (f32x4.mul (local.get $s) (local.get $b1))))
        (local.set $pa2 (i32.add (local.get $pa2) (i32.const 4)))
        (local.set $s (v128.load32_splat (local.get $pa3)))
        (local.set $acc3_0 (f32x4.add (local.get $acc3_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $acc3_1 (f32x4.add (local.get $acc3_1) (f32x4.mul (local.get $s) (local.get $b1))))
        (local.set $pa3 (i32.add (local.get $pa3) (i32.const 4)))
        (local.set $pb (i32.add (local.get $pb) (local.get $bStride)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $ks)))
    (v128.store offset=0 (local.get $c) (local.get $acc0_0))
    (v128.store offset=16 (local.get $c) (local.get $acc0_1))
    (local.set $c (i32.add (local.get $c) (local.get $cStride)))
    (v128.store offset=0 (local.get $c) (local.get $acc1_0))
    (v128.store offset=16 (local.get $c) (local.get $acc1_1))
    (local.set $c (i32.add (local.get $c) (local.get $cStride)))
    (v128.store offset=0 (local.get $c) (local.get $acc2_0))
    (v128.store offset=16 (local.get $c) (local.get $acc2_1))
    (local.set $c (i32.add (local.get $c) (local.get $cStride)))
    (v128.store offset=0 (local.get $c) (local.get $acc3_0))
    (v128.store offset=16 (local.get $c) (local.get $acc3_1))
  )

  ;; 1 rows × 8 columns of C = A·B: A rows aStride bytes apart (k values each), B row-major
  ;; with rows bStride bytes apart, C rows cStride bytes apart.
  (func $gemm_tile_1x8 (param $a i32) (param $aStride i32) (param $b i32) (param $bStride i32) (param $k i32)
    (param $c i32) (param $cStride i32)
    (local $kk i32) (local $pb i32) (local $s v128) (local $b0 v128) (local $b1 v128)
    (local $acc0_0 v128) (local $acc0_1 v128)
    (local $pa0 i32)
    (local.set $pa0 (local.get $a))
    (local.set $pb (local.get $b))
    (block $done
      (loop $ks
        (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $b0 (v128.load offset=0 (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $s (v128.load32_splat (local.get $pa0)))
        (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $acc0_1 (f32x4.add (local.get $acc0_1) (f32x4.mul (local.get $s) (local.get $b1))))
        (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
        (local.set $pb (i32.add (local.get $pb) (local.get $bStride)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $ks)))
    (v128.store offset=0 (local.get $c) (local.get $acc0_0))
    (v128.store offset=16 (local.get $c) (local.get $acc0_1))
  )

  ;; 4 rows × 4 columns of C = A·B: A rows aStride bytes apart (k values each), B row-major
  ;; with rows bStride bytes apart, C rows cStride bytes apart.
  (func $gemm_tile_4x4 (param $a i32) (param $aStride i32) (param $b i32) (param $bStride i32) (param $k i32)
    (param $c i32) (param $cStride i32)
    (local $kk i32) (local $pb i32) (local $s v128) (local $b0 v128)
    (local $acc0_0 v128) (local $acc1_0 v128) (local $acc2_0 v128) (local $acc3_0 v128)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32)
    (local.set $pa0 (local.get $a))
    (local.set $pa1 (i32.add (local.get $pa0) (local.get $aStride)))
    (local.set $pa2 (i32.add (local.get $pa1) (local.get $aStride)))
    (local.set $pa3 (i32.add (local.get $pa2) (local.get $aStride)))
    (local.set $pb (local.get $b))
    (block $done
      (loop $ks
        (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $b0 (v128.load offset=0 (local.get $pb)))
        (local.set $s (v128.load32_splat (local.get $pa0)))
        (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
        (local.set $s (v128.load32_splat (local.get $pa1)))
        (local.set $acc1_0 (f32x4.add (local.get $acc1_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $pa1 (i32.add (local.get $pa1) (i32.const 4)))
        (local.set $s (v128.load32_splat (local.get $pa2)))
        (local.set $acc2_0 (f32x4.add (local.get $acc2_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $pa2 (i32.add (local.get $pa2) (i32.const 4)))
        (local.set $s (v128.load32_splat (local.get $pa3)))
        (local.set $acc3_0 (f32x4.add (local.get $acc3_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $pa3 (i32.add (local.get $pa3) (i32.const 4)))
        (local.set $pb (i32.add (local.get $pb) (local.get $bStride)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $ks)))
    (v128.store offset=0 (local.get $c) (local.get $acc0_0))
    (local.set $c (i32.add (local.get $c) (local.get $cStride)))
    (v128.store offset=0 (local.get $c) (local.get $acc1_0))
    (local.set $c (i32.add (local.get $c) (local.get $cStride)))
    (v128.store offset=0 (local.get $c) (local.get $acc2_0))
    (local.set $c (i32.add (local.get $c) (local.get $cStride)))
    (v128.store offset=0 (local.get $c) (local.get $acc3_0))
  )

  ;; 1 rows × 4 columns of C = A·B: A rows aStride bytes apart (k values each), B row-major
  ;; with rows bStride bytes apart, C rows cStride bytes apart.
  (func $gemm_tile_1x4 (param $a i32) (param $aStride i32) (param $b i32) (param $bStride i32) (param $k i32)
    (param $c i32) (param $cStride i32)
    (local $kk i32) (local $pb i32) (local $s v128) (local $b0 v128)
    (local $acc0_0 v128)
    (local $pa0 i32)
    (local.set $pa0 (local.get $a))
    (local.set $pb (local.get $b))
    (block $done
      (loop $ks
        (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $b0 (v128.load offset=0 (local.get $pb)))
        (local.set $s (v128.load32_splat (local.get $pa0)))
        (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $b0))))
        (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
        (local.set $pb (i32.add (local.get $pb) (local.get $bStride)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $ks)))
    (v128.store offset=0 (local.get $c) (local.get $acc0_0))
  )

  ;; C[rows][n] = A[rows][k] · B[k][n], n a multiple of 4: A rows aStride bytes apart, B row-major (rows
  ;; n·4 bytes apart), C rows cStride bytes apart. The 1×1 convolution (A: positions × input channels, B:
  ;; the filter) and its input gradient (A: the output gradient, B: the filter transposed).
  (func (export "gemm_rows") (param $a i32) (param $aStride i32) (param $b i32) (param $k i32) (param $n i32)
    (param $c i32) (param $cStride i32) (param $rows i32)
    (local $bStride i32) (local $col i32) (local $row i32) (local $quadRows i32)
    (local.set $bStride (i32.shl (local.get $n) (i32.const 2)))
    (local.set $quadRows (i32.and (local.get $rows) (i32.const -4)))
    (block $wideDone
      (loop $wide
        (br_if $wideDone (i32.gt_s (i32.add (local.get $col) (i32.const 8)) (local.get $n)))
        (local.set $row (i32.const 0))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_s (local.get $row) (local.get $quadRows)))
            (call $gemm_tile_4x8
              (i32.add (local.get $a) (i32.mul (local.get $row) (local.get $aStride))) (local.get $aStride)
              (i32.add (local.get $b) (i32.shl (local.get $col) (i32.const 2))) (local.get $bStride) (local.get $k)
              (i32.add (i32.add (local.get $c) (i32.mul (local.get $row) (local.get $cStride)))
                       (i32.shl (local.get $col) (i32.const 2)))
              (local.get $cStride))
            (local.set $row (i32.add (local.get $row) (i32.const 4)))
            (br $quads)))
        (block $singlesDone
          (loop $singles
            (br_if $singlesDone (i32.ge_s (local.get $row) (local.get $rows)))
            (call $gemm_tile_1x8
              (i32.add (local.get $a) (i32.mul (local.get $row) (local.get $aStride))) (local.get $aStride)
              (i32.add (local.get $b) (i32.shl (local.get $col) (i32.const 2))) (local.get $bStride) (local.get $k)
              (i32.add (i32.add (local.get $c) (i32.mul (local.get $row) (local.get $cStride)))
                       (i32.shl (local.get $col) (i32.const 2)))
              (local.get $cStride))
            (local.set $row (i32.add (local.get $row) (i32.const 1)))
            (br $singles)))
        (local.set $col (i32.add (local.get $col) (i32.const 8)))
        (br $wide)))
    (if (i32.le_s (i32.add (local.get $col) (i32.const 4)) (local.get $n))
      (then
        (local.set $row (i32.const 0))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_s (local.get $row) (local.get $quadRows)))
            (call $gemm_tile_4x4
              (i32.add (local.get $a) (i32.mul (local.get $row) (local.get $aStride))) (local.get $aStride)
              (i32.add (local.get $b) (i32.shl (local.get $col) (i32.const 2))) (local.get $bStride) (local.get $k)
              (i32.add (i32.add (local.get $c) (i32.mul (local.get $row) (local.get $cStride)))
                       (i32.shl (local.get $col) (i32.const 2)))
              (local.get $cStride))
            (local.set $row (i32.add (local.get $row) (i32.const 4)))
            (br $quads)))
        (block $singlesDone
          (loop $singles
            (br_if $singlesDone (i32.ge_s (local.get $row) (local.get $rows)))
            (call $gemm_tile_1x4
              (i32.add (local.get $a) (i32.mul (local.get $row) (local.get $aStride))) (local.get $aStride)
              (i32.add (local.get $b) (i32.shl (local.get $col) (i32.const 2))) (local.get $bStride) (local.get $k)
              (i32.add (i32.add (local.get $c) (i32.mul (local.get $row) (local.get $cStride)))
                       (i32.shl (local.get $col) (i32.const 2)))
              (local.get $cStride))
            (local.set $row (i32.add (local.get $row) (i32.const 1)))
            (br $singles))))))

  ;; Weight gradient of a convolution, one filter tap (r, s) and one tile of R input × C output channels:
  ;;   out[ci][co] = Σ over images b, output rows i in [iMin, iEnd), n output columns j from jMin, of
  ;;                 x[b][i·sH + rowOffset][j·sW + colOffset][ci] · dy[b][i][j][co]
  ;; (rowOffset = r − top, colOffset = s − left; the caller clips rows and columns to those whose tap
  ;; lands inside x). x and dy point at the tile's first channel; out at dW[r][s][ci0][co0], its rows
  ;; outStride bytes apart; cinBytes and coutBytes are the channel counts × 4. Overwrites the tile.
  ;; 4 input × 8 output channels of one filter tap's weight gradient (see filter_grad).
  (func $filter_grad_tile_4x8 (export "filter_grad_4x8")
    (param $x i32) (param $dy i32) (param $out i32) (param $outStride i32)
    (param $batch i32) (param $iMin i32) (param $iEnd i32) (param $jMin i32) (param $n i32)
    (param $rowOffset i32) (param $colOffset i32) (param $inH i32) (param $inW i32)
    (param $outH i32) (param $outW i32) (param $cinBytes i32) (param $coutBytes i32)
    (param $sH i32) (param $sW i32)
    (local $bi i32) (local $i i32) (local $t i32) (local $px i32) (local $pdy i32) (local $xStep i32)
    (local $s v128) (local $d0 v128) (local $d1 v128)
    (local $acc0_0 v128) (local $acc0_1 v128) (local $acc1_0 v128) (local $acc1_1 v128) (local $acc2_0 v128) (local $acc2_1 v128) (local $acc3_0 v128) (local $acc3_1 v128)
    (local.set $xStep (i32.mul (local.get $sW) (local.get $cinBytes)))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $bi) (local.get $batch)))
        (local.set $i (local.get $iMin))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $iEnd)))
            ;; dy[b][i][jMin], x[b][i·sH + rowOffset][jMin·sW + colOffset]
            (local.set $pdy (i32.add (local.get $dy) (i32.mul (local.get $coutBytes)
              (i32.add (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $outH)) (local.get $i)) (local.get $outW))
                (local.get $jMin)))))
            (local.set $px (i32.add (local.get $x) (i32.mul (local.get $cinBytes)
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $inH))
                  (i32.add (i32.mul (local.get $i) (local.get $sH)) (local.get $rowOffset))) (local.get $inW))
                (i32.add (i32.mul (local.get $jMin) (local.get $sW)) (local.get $colOffset))))))
            (local.set $t (i32.const 0))
            (block $colsDone
              (loop $cols
                (br_if $colsDone (i32.ge_s (local.get $t) (local.get $n)))
                (local.set $d0 (v128.load offset=0 (local.get $pdy)))
                (local.set $d1 (v128.load offset=16 (local.get $pdy)))
                (local.set $s (v128.load32_splat offset=0 (local.get $px)))
                (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $acc0_1 (f32x4.add (local.get $acc0_1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=4 (local.get $px)))
                (local.set $acc1_0 (f32x4.add (local.get $acc1_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $acc1_1 (f32x4.add (local.get $acc1_1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=8 (local.get $px)))
                (local.set $acc2_0 (f32x4.add (local.get $acc2_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $acc2_1 (f32x4.add (local.get $acc2_1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=12 (local.get $px)))
                (local.set $acc3_0 (f32x4.add (local.get $acc3_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $acc3_1 (f32x4.add (local.get $acc3_1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $px (i32.add (local.get $px) (local.get $xStep)))
                (local.set $pdy (i32.add (local.get $pdy) (local.get $coutBytes)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $cols)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
        (br $images)))
    (v128.store offset=0 (local.get $out) (local.get $acc0_0))
    (v128.store offset=16 (local.get $out) (local.get $acc0_1))
    (local.set $out (i32.add (local.get $out) (local.get $outStride)))
    (v128.store offset=0 (local.get $out) (local.get $acc1_0))
    (v128.store offset=16 (local.get $out) (local.get $acc1_1))
    (local.set $out (i32.add (local.get $out) (local.get $outStride)))
    (v128.store offset=0 (local.get $out) (local.get $acc2_0))
    (v128.store offset=16 (local.get $out) (local.get $acc2_1))
    (local.set $out (i32.add (local.get $out) (local.get $outStride)))
    (v128.store offset=0 (local.get $out) (local.get $acc3_0))
    (v128.store offset=16 (local.get $out) (local.get $acc3_1))
  )

  ;; 1 input × 8 output channels of one filter tap's weight gradient (see filter_grad).
  (func $filter_grad_tile_1x8 (export "filter_grad_1x8")
    (param $x i32) (param $dy i32) (param $out i32) (param $outStride i32)
    (param $batch i32) (param $iMin i32) (param $iEnd i32) (param $jMin i32) (param $n i32)
    (param $rowOffset i32) (param $colOffset i32) (param $inH i32) (param $inW i32)
    (param $outH i32) (param $outW i32) (param $cinBytes i32) (param $coutBytes i32)
    (param $sH i32) (param $sW i32)
    (local $bi i32) (local $i i32) (local $t i32) (local $px i32) (local $pdy i32) (local $xStep i32)
    (local $s v128) (local $d0 v128) (local $d1 v128)
    (local $acc0_0 v128) (local $acc0_1 v128)
    (local.set $xStep (i32.mul (local.get $sW) (local.get $cinBytes)))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $bi) (local.get $batch)))
        (local.set $i (local.get $iMin))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $iEnd)))
            ;; dy[b][i][jMin], x[b][i·sH + rowOffset][jMin·sW + colOffset]
            (local.set $pdy (i32.add (local.get $dy) (i32.mul (local.get $coutBytes)
              (i32.add (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $outH)) (local.get $i)) (local.get $outW))
                (local.get $jMin)))))
            (local.set $px (i32.add (local.get $x) (i32.mul (local.get $cinBytes)
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $inH))
                  (i32.add (i32.mul (local.get $i) (local.get $sH)) (local.get $rowOffset))) (local.get $inW))
                (i32.add (i32.mul (local.get $jMin) (local.get $sW)) (local.get $colOffset))))))
            (local.set $t (i32.const 0))
            (block $colsDone
              (loop $cols
                (br_if $colsDone (i32.ge_s (local.get $t) (local.get $n)))
                (local.set $d0 (v128.load offset=0 (local.get $pdy)))
                (local.set $d1 (v128.load offset=16 (local.get $pdy)))
                (local.set $s (v128.load32_splat offset=0 (local.get $px)))
                (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $acc0_1 (f32x4.add (local.get $acc0_1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $px (i32.add (local.get $px) (local.get $xStep)))
                (local.set $pdy (i32.add (local.get $pdy) (local.get $coutBytes)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $cols)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
        (br $images)))
    (v128.store offset=0 (local.get $out) (local.get $acc0_0))
    (v128.store offset=16 (local.get $out) (local.get $acc0_1))
  )

  ;; 4 input × 4 output channels of one filter tap's weight gradient (see filter_grad).
  (func $filter_grad_tile_4x4 (export "filter_grad_4x4")
    (param $x i32) (param $dy i32) (param $out i32) (param $outStride i32)
    (param $batch i32) (param $iMin i32) (param $iEnd i32) (param $jMin i32) (param $n i32)
    (param $rowOffset i32) (param $colOffset i32) (param $inH i32) (param $inW i32)
    (param $outH i32) (param $outW i32) (param $cinBytes i32) (param $coutBytes i32)
    (param $sH i32) (param $sW i32)
    (local $bi i32) (local $i i32) (local $t i32) (local $px i32) (local $pdy i32) (local $xStep i32)
    (local $s v128) (local $d0 v128)
    (local $acc0_0 v128) (local $acc1_0 v128) (local $acc2_0 v128) (local $acc3_0 v128)
    (local.set $xStep (i32.mul (local.get $sW) (local.get $cinBytes)))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $bi) (local.get $batch)))
        (local.set $i (local.get $iMin))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $iEnd)))
            ;; dy[b][i][jMin], x[b][i·sH + rowOffset][jMin·sW + colOffset]
            (local.set $pdy (i32.add (local.get $dy) (i32.mul (local.get $coutBytes)
              (i32.add (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $outH)) (local.get $i)) (local.get $outW))
                (local.get $jMin)))))
            (local.set $px (i32.add (local.get $x) (i32.mul (local.get $cinBytes)
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $inH))
                  (i32.add (i32.mul (local.get $i) (local.get $sH)) (local.get $rowOffset))) (local.get $inW))
                (i32.add (i32.mul (local.get $jMin) (local.get $sW)) (local.get $colOffset))))))
            (local.set $t (i32.const 0))
            (block $colsDone
              (loop $cols
                (br_if $colsDone (i32.ge_s (local.get $t) (local.get $n)))
                (local.set $d0 (v128.load offset=0 (local.get $pdy)))
                (local.set $s (v128.load32_splat offset=0 (local.get $px)))
                (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $s (v128.load32_splat offset=4 (local.get $px)))
                (local.set $acc1_0 (f32x4.add (local.get $acc1_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $s (v128.load32_splat offset=8 (local.get $px)))
                (local.set $acc2_0 (f32x4.add (local.get $acc2_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $s (v128.load32_splat offset=12 (local.get $px)))
                (local.set $acc3_0 (f32x4.add (local.get $acc3_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $px (i32.add (local.get $px) (local.get $xStep)))
                (local.set $pdy (i32.add (local.get $pdy) (local.get $coutBytes)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $cols)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
        (br $images)))
    (v128.store offset=0 (local.get $out) (local.get $acc0_0))
    (local.set $out (i32.add (local.get $out) (local.get $outStride)))
    (v128.store offset=0 (local.get $out) (local.get $acc1_0))
    (local.set $out (i32.add (local.get $out) (local.get $outStride)))
    (v128.store offset=0 (local.get $out) (local.get $acc2_0))
    (local.set $out (i32.add (local.get $out) (local.get $outStride)))
    (v128.store offset=0 (local.get $out) (local.get $acc3_0))
  )

  ;; 1 input × 4 output channels of one filter tap's weight gradient (see filter_grad).
  (func $filter_grad_tile_1x4 (export "filter_grad_1x4")
    (param $x i32) (param $dy i32) (param $out i32) (param $outStride i32)
    (param $batch i32) (param $iMin i32) (param $iEnd i32) (param $jMin i32) (param $n i32)
    (param $rowOffset i32) (param $colOffset i32) (param $inH i32) (param $inW i32)
    (param $outH i32) (param $outW i32) (param $cinBytes i32) (param $coutBytes i32)
    (param $sH i32) (param $sW i32)
    (local $bi i32) (local $i i32) (local $t i32) (local $px i32) (local $pdy i32) (local $xStep i32)
    (local $s v128) (local $d0 v128)
    (local $acc0_0 v128)
    (local.set $xStep (i32.mul (local.get $sW) (local.get $cinBytes)))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $bi) (local.get $batch)))
        (local.set $i (local.get $iMin))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $iEnd)))
            ;; dy[b][i][jMin], x[b][i·sH + rowOffset][jMin·sW + colOffset]
            (local.set $pdy (i32.add (local.get $dy) (i32.mul (local.get $coutBytes)
              (i32.add (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $outH)) (local.get $i)) (local.get $outW))
                (local.get $jMin)))))
            (local.set $px (i32.add (local.get $x) (i32.mul (local.get $cinBytes)
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $inH))
                  (i32.add (i32.mul (local.get $i) (local.get $sH)) (local.get $rowOffset))) (local.get $inW))
                (i32.add (i32.mul (local.get $jMin) (local.get $sW)) (local.get $colOffset))))))
            (local.set $t (i32.const 0))
            (block $colsDone
              (loop $cols
                (br_if $colsDone (i32.ge_s (local.get $t) (local.get $n)))
                (local.set $d0 (v128.load offset=0 (local.get $pdy)))
                (local.set $s (v128.load32_splat offset=0 (local.get $px)))
                (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $px (i32.add (local.get $px) (local.get $xStep)))
                (local.set $pdy (i32.add (local.get $pdy) (local.get $coutBytes)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $cols)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
        (br $images)))
    (v128.store offset=0 (local.get $out) (local.get $acc0_0))
  )


  ;; Depthwise convolution (channel multiplier 1, no dilation), c channels (a multiple of 4):
  ;;   y[g][j][ch] = Σ_r,s x[b][i·sH + r − top][j·sW + s − left][ch] · w[r][s][ch]
  ;; for the output rows g = b·outH + i in [rowBegin, rowEnd); taps outside x count as zero (padding).
  ;; Each output vector is one running sum over the taps in (r, s) order. Four (then two, then one) such
  ;; sums — neighbouring channel vectors of the same pixel — advance together: with one sum at a time the
  ;; loop waited on each add's latency (measured: ~3.5 GMAC/s on MobileNet's layers); the order of every
  ;; sum is unchanged, so the values are the same to the bit.
  (func (export "depthwise_rows")
    (param $x i32) (param $w i32) (param $y i32) (param $rowBegin i32) (param $rowEnd i32)
    (param $inH i32) (param $inW i32) (param $c i32) (param $outH i32) (param $outW i32)
    (param $kH i32) (param $kW i32) (param $sH i32) (param $sW i32) (param $top i32) (param $left i32)
    (local $cBytes i32) (local $xRowBytes i32) (local $wRowBytes i32) (local $g i32) (local $b i32)
    (local $i i32) (local $j i32) (local $yTop i32) (local $xLeft i32) (local $r0 i32) (local $r1 i32)
    (local $s0 i32) (local $s1 i32) (local $k i32) (local $r i32) (local $s i32) (local $acc v128)
    (local $pxr i32) (local $pwr i32) (local $px i32) (local $pw i32) (local $py i32)
    (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $step i32) (local $xPixel i32)
    (local $wTap i32)
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xRowBytes (i32.mul (local.get $inW) (local.get $cBytes)))
    (local.set $wRowBytes (i32.mul (local.get $kW) (local.get $cBytes)))
    (local.set $g (local.get $rowBegin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $g) (local.get $rowEnd)))
        (local.set $b (i32.div_s (local.get $g) (local.get $outH)))
        (local.set $i (i32.sub (local.get $g) (i32.mul (local.get $b) (local.get $outH))))
        (local.set $yTop (i32.sub (i32.mul (local.get $i) (local.get $sH)) (local.get $top)))
        ;; filter rows inside x: r0 = max(0, −yTop), r1 = min(kH, inH − yTop)
        (local.set $r0 (select (i32.const 0) (i32.sub (i32.const 0) (local.get $yTop)) (i32.ge_s (local.get $yTop) (i32.const 0))))
        (local.set $r1 (i32.sub (local.get $inH) (local.get $yTop)))
        (if (i32.gt_s (local.get $r1) (local.get $kH)) (then (local.set $r1 (local.get $kH))))
        (local.set $py (i32.add (local.get $y) (i32.mul (i32.mul (local.get $g) (local.get $outW)) (local.get $cBytes))))
        (local.set $j (i32.const 0))
        (block $pixelsDone
          (loop $pixels
            (br_if $pixelsDone (i32.ge_s (local.get $j) (local.get $outW)))
            (local.set $xLeft (i32.sub (i32.mul (local.get $j) (local.get $sW)) (local.get $left)))
            (local.set $s0 (select (i32.const 0) (i32.sub (i32.const 0) (local.get $xLeft)) (i32.ge_s (local.get $xLeft) (i32.const 0))))
            (local.set $s1 (i32.sub (local.get $inW) (local.get $xLeft)))
            (if (i32.gt_s (local.get $s1) (local.get $kW)) (then (local.set $s1 (local.get $kW))))
            ;; x[b][yTop + r0][xLeft + s0][0], w[r0][s0][0]
            (local.set $xPixel (i32.add (local.get $x)
              (i32.mul (local.get $cBytes)
                (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (i32.add (local.get $yTop) (local.get $r0)))
                                  (local.get $inW))
                         (i32.add (local.get $xLeft) (local.get $s0))))))
            (local.set $wTap (i32.add (local.get $w)
              (i32.mul (local.get $cBytes) (i32.add (i32.mul (local.get $r0) (local.get $kW)) (local.get $s0)))))
            (local.set $k (i32.const 0))
            (block $lanesDone
              (loop $lanes
                (br_if $lanesDone (i32.ge_u (local.get $k) (local.get $cBytes)))
                ;; how many channel vectors this pass sums: 4 while they last, then 2, then 1
                (local.set $step (i32.sub (local.get $cBytes) (local.get $k)))
                (local.set $step
                  (select (i32.const 64)
                    (select (i32.const 32) (i32.const 16) (i32.ge_u (local.get $step) (i32.const 32)))
                    (i32.ge_u (local.get $step) (i32.const 64))))
                (local.set $acc (v128.const i32x4 0 0 0 0))
                (local.set $acc1 (v128.const i32x4 0 0 0 0))
                (local.set $acc2 (v128.const i32x4 0 0 0 0))
                (local.set $acc3 (v128.const i32x4 0 0 0 0))
                (local.set $pxr (i32.add (local.get $xPixel) (local.get $k)))
                (local.set $pwr (i32.add (local.get $wTap) (local.get $k)))
                (local.set $r (local.get $r0))
                (block $tapRowsDone
                  (loop $tapRows
                    (br_if $tapRowsDone (i32.ge_s (local.get $r) (local.get $r1)))
                    (local.set $px (local.get $pxr))
                    (local.set $pw (local.get $pwr))
                    (local.set $s (local.get $s0))
                    (block $tapsDone
                      (loop $taps
                        (br_if $tapsDone (i32.ge_s (local.get $s) (local.get $s1)))
                        (local.set $acc (f32x4.add (local.get $acc)
                          (f32x4.mul (v128.load (local.get $px)) (v128.load (local.get $pw)))))
                        (if (i32.ge_u (local.get $step) (i32.const 32))
                          (then
                            (local.set $acc1 (f32x4.add (local.get $acc1)
                              (f32x4.mul (v128.load offset=16 (local.get $px)) (v128.load offset=16 (local.get $pw)))))
                            (if (i32.eq (local.get $step) (i32.const 64))
                              (then
                                (local.set $acc2 (f32x4.add (local.get $acc2)
                                  (f32x4.mul (v128.load offset=32 (local.get $px)) (v128.load offset=32 (local.get $pw)))))
                                (local.set $acc3 (f32x4.add (local.get $acc3)
                                  (f32x4.mul (v128.load offset=48 (local.get $px)) (v128.load offset=48 (local.get $pw)))))))))
                        (local.set $px (i32.add (local.get $px) (local.get $cBytes)))
                        (local.set $pw (i32.add (local.get $pw) (local.get $cBytes)))
                        (local.set $s (i32.add (local.get $s) (i32.const 1)))
                        (br $taps)))
                    (local.set $pxr (i32.add (local.get $pxr) (local.get $xRowBytes)))
                    (local.set $pwr (i32.add (local.get $pwr) (local.get $wRowBytes)))
                    (local.set $r (i32.add (local.get $r) (i32.const 1)))
                    (br $tapRows)))
                (v128.store (i32.add (local.get $py) (local.get $k)) (local.get $acc))
                (if (i32.ge_u (local.get $step) (i32.const 32))
                  (then
                    (v128.store offset=16 (i32.add (local.get $py) (local.get $k)) (local.get $acc1))
                    (if (i32.eq (local.get $step) (i32.const 64))
                      (then
                        (v128.store offset=32 (i32.add (local.get $py) (local.get $k)) (local.get $acc2))
                        (v128.store offset=48 (i32.add (local.get $py) (local.get $k)) (local.get $acc3))))))
                (local.set $k (i32.add (local.get $k) (local.get $step)))
                (br $lanes)))
            (local.set $py (i32.add (local.get $py) (local.get $cBytes)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $pixels)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $rows))))

  ;; Input gradient of that depthwise convolution, gathered per input pixel (so rows of dx can be
  ;; computed independently):
  ;;   dx[b][y][x][ch] = Σ over taps r, s with y + top − r = i·sH, x + left − s = j·sW, (i, j) inside dy,
  ;;                     of dy[b][i][j][ch] · w[r][s][ch]
  ;; for the input rows g = b·inH + y in [rowBegin, rowEnd).
  (func (export "depthwise_input_grad_rows")
    (param $dy i32) (param $w i32) (param $dx i32) (param $rowBegin i32) (param $rowEnd i32)
    (param $inH i32) (param $inW i32) (param $c i32) (param $outH i32) (param $outW i32)
    (param $kH i32) (param $kW i32) (param $sH i32) (param $sW i32) (param $top i32) (param $left i32)
    (local $cBytes i32) (local $g i32) (local $b i32) (local $t i32) (local $u i32) (local $xx i32)
    (local $rFirst i32) (local $rEnd i32) (local $sFirst i32) (local $sEnd i32) (local $low i32)
    (local $k i32) (local $r i32) (local $s i32) (local $acc v128) (local $pdyr i32) (local $pwr i32)
    (local $pdy i32) (local $pw i32) (local $pdx i32) (local $dyRowBytes i32) (local $wRStep i32)
    (local $wSStep i32)
    (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $step i32)
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $dyRowBytes (i32.mul (local.get $outW) (local.get $cBytes)))
    (local.set $wRStep (i32.mul (i32.mul (local.get $sH) (local.get $kW)) (local.get $cBytes)))
    (local.set $wSStep (i32.mul (local.get $sW) (local.get $cBytes)))
    (local.set $g (local.get $rowBegin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $g) (local.get $rowEnd)))
        (local.set $b (i32.div_s (local.get $g) (local.get $inH)))
        ;; t = y + top: tap r reaches output row (t − r)/sH when it divides and lies in [0, outH)
        (local.set $t (i32.add (i32.sub (local.get $g) (i32.mul (local.get $b) (local.get $inH))) (local.get $top)))
        (local.set $low (i32.sub (local.get $t) (i32.mul (local.get $sH) (i32.sub (local.get $outH) (i32.const 1)))))
        (if (i32.lt_s (local.get $low) (i32.const 0)) (then (local.set $low (i32.const 0))))
        (local.set $rFirst (i32.add (local.get $low) (i32.rem_u (i32.sub (local.get $t) (local.get $low)) (local.get $sH))))
        (local.set $rEnd (i32.add (local.get $t) (i32.const 1)))
        (if (i32.gt_s (local.get $rEnd) (local.get $kH)) (then (local.set $rEnd (local.get $kH))))
        (local.set $pdx (i32.add (local.get $dx) (i32.mul (i32.mul (local.get $g) (local.get $inW)) (local.get $cBytes))))
        (local.set $xx (i32.const 0))
        (block $pixelsDone
          (loop $pixels
            (br_if $pixelsDone (i32.ge_s (local.get $xx) (local.get $inW)))
            (local.set $u (i32.add (local.get $xx) (local.get $left)))
            (local.set $low (i32.sub (local.get $u) (i32.mul (local.get $sW) (i32.sub (local.get $outW) (i32.const 1)))))
            (if (i32.lt_s (local.get $low) (i32.const 0)) (then (local.set $low (i32.const 0))))
            (local.set $sFirst (i32.add (local.get $low) (i32.rem_u (i32.sub (local.get $u) (local.get $low)) (local.get $sW))))
            (local.set $sEnd (i32.add (local.get $u) (i32.const 1)))
            (if (i32.gt_s (local.get $sEnd) (local.get $kW)) (then (local.set $sEnd (local.get $kW))))
            (local.set $k (i32.const 0))
            (block $lanesDone
              (loop $lanes
                (br_if $lanesDone (i32.ge_u (local.get $k) (local.get $cBytes)))
                ;; channel vectors summed together (as depthwise_rows): 4 while they last, then 2, then 1
                (local.set $step (i32.sub (local.get $cBytes) (local.get $k)))
                (local.set $step
                  (select (i32.const 64)
                    (select (i32.const 32) (i32.const 16) (i32.ge_u (local.get $step) (i32.const 32)))
                    (i32.ge_u (local.get $step) (i32.const 64))))
                (local.set $acc (v128.const i32x4 0 0 0 0))
                (local.set $acc1 (v128.const i32x4 0 0 0 0))
                (local.set $acc2 (v128.const i32x4 0 0 0 0))
                (local.set $acc3 (v128.const i32x4 0 0 0 0))
                (if (i32.and (i32.lt_s (local.get $rFirst) (local.get $rEnd)) (i32.lt_s (local.get $sFirst) (local.get $sEnd)))
                  (then
                    ;; dy[b][(t − rFirst)/sH][(u − sFirst)/sW][k], w[rFirst][sFirst][k]
                    (local.set $pdyr (i32.add (i32.add (local.get $dy) (local.get $k))
                      (i32.mul (local.get $cBytes)
                        (i32.add
                          (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outH))
                                            (i32.div_u (i32.sub (local.get $t) (local.get $rFirst)) (local.get $sH)))
                                   (local.get $outW))
                          (i32.div_u (i32.sub (local.get $u) (local.get $sFirst)) (local.get $sW))))))
                    (local.set $pwr (i32.add (i32.add (local.get $w) (local.get $k))
                      (i32.mul (local.get $cBytes) (i32.add (i32.mul (local.get $rFirst) (local.get $kW)) (local.get $sFirst)))))
                    (local.set $r (local.get $rFirst))
                    (block $tapRowsDone
                      (loop $tapRows
                        (br_if $tapRowsDone (i32.ge_s (local.get $r) (local.get $rEnd)))
                        (local.set $pdy (local.get $pdyr))
                        (local.set $pw (local.get $pwr))
                        (local.set $s (local.get $sFirst))
                        (block $tapsDone
                          (loop $taps
                            (br_if $tapsDone (i32.ge_s (local.get $s) (local.get $sEnd)))
                            (local.set $acc (f32x4.add (local.get $acc)
                              (f32x4.mul (v128.load (local.get $pdy)) (v128.load (local.get $pw)))))
                            (if (i32.ge_u (local.get $step) (i32.const 32))
                              (then
                                (local.set $acc1 (f32x4.add (local.get $acc1)
                                  (f32x4.mul (v128.load offset=16 (local.get $pdy)) (v128.load offset=16 (local.get $pw)))))
                                (if (i32.eq (local.get $step) (i32.const 64))
                                  (then
                                    (local.set $acc2 (f32x4.add (local.get $acc2)
                                      (f32x4.mul (v128.load offset=32 (local.get $pdy)) (v128.load offset=32 (local.get $pw)))))
                                    (local.set $acc3 (f32x4.add (local.get $acc3)
                                      (f32x4.mul (v128.load offset=48 (local.get $pdy)) (v128.load offset=48 (local.get $pw)))))))))
                            (local.set $pdy (i32.sub (local.get $pdy) (local.get $cBytes)))
                            (local.set $pw (i32.add (local.get $pw) (local.get $wSStep)))
                            (local.set $s (i32.add (local.get $s) (local.get $sW)))
                            (br $taps)))
                        (local.set $pdyr (i32.sub (local.get $pdyr) (local.get $dyRowBytes)))
                        (local.set $pwr (i32.add (local.get $pwr) (local.get $wRStep)))
                        (local.set $r (i32.add (local.get $r) (local.get $sH)))
                        (br $tapRows)))))
                (v128.store (i32.add (local.get $pdx) (local.get $k)) (local.get $acc))
                (if (i32.ge_u (local.get $step) (i32.const 32))
                  (then
                    (v128.store offset=16 (i32.add (local.get $pdx) (local.get $k)) (local.get $acc1))
                    (if (i32.eq (local.get $step) (i32.const 64))
                      (then
                        (v128.store offset=32 (i32.add (local.get $pdx) (local.get $k)) (local.get $acc2))
                        (v128.store offset=48 (i32.add (local.get $pdx) (local.get $k)) (local.get $acc3))))))
                (local.set $k (i32.add (local.get $k) (local.get $step)))
                (br $lanes)))
            (local.set $pdx (i32.add (local.get $pdx) (local.get $cBytes)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $pixels)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $rows))))

  ;; Weight gradient of that depthwise convolution over the output rows g = b·outH + i in [rowBegin,
  ;; rowEnd): per row, float32 sums over its columns in scratch (taps × c floats), added into the float64
  ;; totals (taps × c, added to) row after row:
  ;;   totals[r][s][ch] += Σ_j x[b][i·sH + r − top][j·sW + s − left][ch] · dy[b][i][j][ch]
  ;; Each tap's row sum runs in registers over the columns j where the tap lands inside x, four (then
  ;; two, then one) channel vectors at a time, from zero in column order — the same adds, in the same
  ;; order, as adding every column's products into scratch pixel after pixel, so the same bits, without a
  ;; load and a store of scratch per product.
  (func (export "depthwise_filter_grad_rows")
    (param $x i32) (param $dy i32) (param $totals i32) (param $scratch i32) (param $rowBegin i32)
    (param $rowEnd i32) (param $inH i32) (param $inW i32) (param $c i32) (param $outH i32) (param $outW i32)
    (param $kH i32) (param $kW i32) (param $sH i32) (param $sW i32) (param $top i32) (param $left i32)
    (local $cBytes i32) (local $g i32) (local $b i32) (local $i i32) (local $j i32) (local $yTop i32)
    (local $r0 i32) (local $r1 i32) (local $r i32) (local $s i32) (local $k i32) (local $step i32)
    (local $jLo i32) (local $jHi i32) (local $pdyRow i32) (local $pxRow i32) (local $pdy i32) (local $px i32)
    (local $pa i32) (local $xStep i32) (local $n i32) (local $tapValues i32) (local $reach i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xStep (i32.mul (local.get $sW) (local.get $cBytes)))
    (local.set $tapValues (i32.mul (i32.mul (local.get $kH) (local.get $kW)) (local.get $c)))
    (local.set $g (local.get $rowBegin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $g) (local.get $rowEnd)))
        ;; taps whose row falls on padding keep zero sums
        (local.set $k (i32.const 0))
        (block $zeroed
          (loop $zero
            (br_if $zeroed (i32.ge_u (local.get $k) (i32.shl (local.get $tapValues) (i32.const 2))))
            (v128.store (i32.add (local.get $scratch) (local.get $k)) (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $zero)))
        (local.set $b (i32.div_s (local.get $g) (local.get $outH)))
        (local.set $i (i32.sub (local.get $g) (i32.mul (local.get $b) (local.get $outH))))
        (local.set $yTop (i32.sub (i32.mul (local.get $i) (local.get $sH)) (local.get $top)))
        (local.set $r0 (select (i32.const 0) (i32.sub (i32.const 0) (local.get $yTop)) (i32.ge_s (local.get $yTop) (i32.const 0))))
        (local.set $r1 (i32.sub (local.get $inH) (local.get $yTop)))
        (if (i32.gt_s (local.get $r1) (local.get $kH)) (then (local.set $r1 (local.get $kH))))
        (local.set $pdyRow (i32.add (local.get $dy) (i32.mul (i32.mul (local.get $g) (local.get $outW)) (local.get $cBytes))))
        (local.set $r (local.get $r0))
        (block $tapRowsDone
          (loop $tapRows
            (br_if $tapRowsDone (i32.ge_s (local.get $r) (local.get $r1)))
            ;; x[b][yTop + r][0][0]
            (local.set $pxRow (i32.add (local.get $x)
              (i32.mul (i32.mul (local.get $cBytes) (local.get $inW))
                (i32.add (i32.mul (local.get $b) (local.get $inH)) (i32.add (local.get $yTop) (local.get $r))))))
            (local.set $s (i32.const 0))
            (block $tapsDone
              (loop $taps
                (br_if $tapsDone (i32.ge_s (local.get $s) (local.get $kW)))
                ;; columns where the tap lands inside x: 0 ≤ j·sW + s − left < inW, 0 ≤ j < outW
                (local.set $reach (i32.sub (local.get $left) (local.get $s)))
                (local.set $jLo (select
                  (i32.div_s (i32.add (local.get $reach) (i32.sub (local.get $sW) (i32.const 1))) (local.get $sW))
                  (i32.const 0)
                  (i32.gt_s (local.get $reach) (i32.const 0))))
                (local.set $reach (i32.add (local.get $inW) (local.get $reach)))
                (local.set $jHi (select
                  (i32.div_s (i32.add (local.get $reach) (i32.sub (local.get $sW) (i32.const 1))) (local.get $sW))
                  (i32.const 0)
                  (i32.gt_s (local.get $reach) (i32.const 0))))
                (if (i32.gt_s (local.get $jHi) (local.get $outW)) (then (local.set $jHi (local.get $outW))))
                (local.set $k (i32.const 0))
                (block $lanesDone
                  (loop $lanes
                    (br_if $lanesDone (i32.ge_s (local.get $jLo) (local.get $jHi)))
                    (br_if $lanesDone (i32.ge_u (local.get $k) (local.get $cBytes)))
                    (local.set $step (i32.sub (local.get $cBytes) (local.get $k)))
                    (local.set $step
                      (select (i32.const 64)
                        (select (i32.const 32) (i32.const 16) (i32.ge_u (local.get $step) (i32.const 32)))
                        (i32.ge_u (local.get $step) (i32.const 64))))
                    (local.set $acc0 (v128.const i32x4 0 0 0 0))
                    (local.set $acc1 (v128.const i32x4 0 0 0 0))
                    (local.set $acc2 (v128.const i32x4 0 0 0 0))
                    (local.set $acc3 (v128.const i32x4 0 0 0 0))
                    ;; dy[b][i][jLo][k], x[b][yTop + r][jLo·sW + s − left][k]
                    (local.set $pdy (i32.add (i32.add (local.get $pdyRow) (local.get $k))
                      (i32.mul (local.get $jLo) (local.get $cBytes))))
                    (local.set $px (i32.add (i32.add (local.get $pxRow) (local.get $k))
                      (i32.mul (local.get $cBytes)
                        (i32.sub (i32.add (i32.mul (local.get $jLo) (local.get $sW)) (local.get $s)) (local.get $left)))))
                    (local.set $j (local.get $jLo))
                    (block $columnsDone
                      (loop $columns
                        (br_if $columnsDone (i32.ge_s (local.get $j) (local.get $jHi)))
                        (local.set $acc0 (f32x4.add (local.get $acc0)
                          (f32x4.mul (v128.load (local.get $px)) (v128.load (local.get $pdy)))))
                        (if (i32.ge_u (local.get $step) (i32.const 32))
                          (then
                            (local.set $acc1 (f32x4.add (local.get $acc1)
                              (f32x4.mul (v128.load offset=16 (local.get $px)) (v128.load offset=16 (local.get $pdy)))))
                            (if (i32.eq (local.get $step) (i32.const 64))
                              (then
                                (local.set $acc2 (f32x4.add (local.get $acc2)
                                  (f32x4.mul (v128.load offset=32 (local.get $px)) (v128.load offset=32 (local.get $pdy)))))
                                (local.set $acc3 (f32x4.add (local.get $acc3)
                                  (f32x4.mul (v128.load offset=48 (local.get $px)) (v128.load offset=48 (local.get $pdy)))))))))
                        (local.set $px (i32.add (local.get $px) (local.get $xStep)))
                        (local.set $pdy (i32.add (local.get $pdy) (local.get $cBytes)))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br $columns)))
                    ;; scratch[r][s][k]
                    (local.set $pa (i32.add (i32.add (local.get $scratch) (local.get $k))
                      (i32.mul (local.get $cBytes) (i32.add (i32.mul (local.get $r) (local.get $kW)) (local.get $s)))))
                    (v128.store (local.get $pa) (local.get $acc0))
                    (if (i32.ge_u (local.get $step) (i32.const 32))
                      (then
                        (v128.store offset=16 (local.get $pa) (local.get $acc1))
                        (if (i32.eq (local.get $step) (i32.const 64))
                          (then
                            (v128.store offset=32 (local.get $pa) (local.get $acc2))
                            (v128.store offset=48 (local.get $pa) (local.get $acc3))))))
                    (local.set $k (i32.add (local.get $k) (local.get $step)))
                    (br $lanes)))
                (local.set $s (i32.add (local.get $s) (i32.const 1)))
                (br $taps)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $tapRows)))
        ;; the row's sums into the float64 totals
        (local.set $n (i32.const 0))
        (block $flushed
          (loop $flush
            (br_if $flushed (i32.ge_u (local.get $n) (local.get $tapValues)))
            (f64.store (i32.add (local.get $totals) (i32.shl (local.get $n) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $totals) (i32.shl (local.get $n) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $scratch) (i32.shl (local.get $n) (i32.const 2)))))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $flush)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $rows))))

  ;; dst[o][i] = src[i][o] for the rows o of dst in [rowBegin, rowEnd): src is rows × cols floats, dst
  ;; cols × rows (a 1×1 convolution's filter for its input gradient). Reads stride through src; each item
  ;; writes its own rows of dst.
  (func (export "transpose_rows")
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $rowBegin i32) (param $rowEnd i32)
    (local $o i32) (local $i i32) (local $ps i32) (local $pd i32) (local $colBytes i32)
    (local.set $colBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $o (local.get $rowBegin))
    (block $done
      (loop $outRows
        (br_if $done (i32.ge_s (local.get $o) (local.get $rowEnd)))
        (local.set $ps (i32.add (local.get $src) (i32.shl (local.get $o) (i32.const 2))))
        (local.set $pd (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $o) (local.get $rows)) (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $rowDone
          (loop $values
            (br_if $rowDone (i32.ge_s (local.get $i) (local.get $rows)))
            (f32.store (local.get $pd) (f32.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (local.get $colBytes)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $values)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $outRows))))

  ;; out[v] = float32(Σ_image totals[image][v]) for v in [begin, end): per-image float64 totals (images ×
  ;; values) added from zero in image order, so the sum does not depend on which thread made which image's.
  (func (export "sum_image_totals")
    (param $totals i32) (param $images i32) (param $values i32) (param $out i32) (param $begin i32) (param $end i32)
    (local $v i32) (local $image i32) (local $p i32) (local $sum f64) (local $imageBytes i32)
    (local.set $imageBytes (i32.shl (local.get $values) (i32.const 3)))
    (local.set $v (local.get $begin))
    (block $done
      (loop $eachValue
        (br_if $done (i32.ge_s (local.get $v) (local.get $end)))
        (local.set $sum (f64.const 0))
        (local.set $p (i32.add (local.get $totals) (i32.shl (local.get $v) (i32.const 3))))
        (local.set $image (i32.const 0))
        (block $imagesDone
          (loop $eachImage
            (br_if $imagesDone (i32.ge_s (local.get $image) (local.get $images)))
            (local.set $sum (f64.add (local.get $sum) (f64.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $imageBytes)))
            (local.set $image (i32.add (local.get $image) (i32.const 1)))
            (br $eachImage)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $v) (i32.const 2))) (f32.demote_f64 (local.get $sum)))
        (local.set $v (i32.add (local.get $v) (i32.const 1)))
        (br $eachValue))))
)
