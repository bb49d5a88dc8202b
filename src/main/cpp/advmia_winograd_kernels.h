// The Winograd kernels, F(2x2, 3x3) (advmia_winograd.h) and F(4x4, 3x3) (advmia_winograd4.h),
// compiled twice into the one CPU library: for AVX2 + FMA, the build's baseline (-march=x86-64-v3),
// in namespace adv::avx2, and with AVX-512 F/VL/BW/DQ enabled by a target pragma, in namespace
// adv::avx512. advmia_conv.h picks one per call from what the CPU has (wino_avx512), so the
// library still runs on AVX2-only machines.
//
// Why a second copy: the 6x6 F(4x4) transforms keep 36 vectors live and more; with AVX2's 16 vector
// registers GCC spills them to the stack, while AVX-512VL gives the same 256-bit instructions 32
// registers. Measured per SmallCNN layer (benchmarks/cpp/conv_bench.cpp, one thread, F(4x4)):
// backward-filter 1.1-1.24x faster, forward and backward-data 1.03-1.09x (benchmarks/README.md,
// "AVX-512 registers for the Winograd kernels"). The vectors stay 8 lanes of 256 bits: the
// de-interleaving shuffles are written for 8 lanes, and 256-bit code keeps the core's clock.
#pragma once
#include <immintrin.h>
#include "advmia_gemm.h"
#include "advmia_window_max.h"
#include "advmia_conv_geom.h"

// WVec<double> is 64 bytes: GCC notes that passing it by value would change the ABI without
// AVX-512. These helpers are inline and never cross a library boundary.
#pragma GCC diagnostic ignored "-Wpsabi"

#define ADV_WINO_ISA avx2
#define ADV_WINO_WIDE 0
#include "advmia_winograd.h"
#include "advmia_winograd4.h"
#undef ADV_WINO_WIDE
#undef ADV_WINO_ISA

// Every function defined in this region (lambdas and template instantiations included) may use
// AVX-512; none is reached unless cpu_has_avx512() (advmia_conv.h).
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,prefer-vector-width=256")
#define ADV_WINO_ISA avx512
#define ADV_WINO_WIDE 1
#include "advmia_winograd.h"
#include "advmia_winograd4.h"
#undef ADV_WINO_WIDE
#undef ADV_WINO_ISA
#pragma GCC pop_options
