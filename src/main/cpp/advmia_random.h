// Counter-based random numbers: value i of a stream is a pure function of (seed, i), so results
// do not depend on thread count, and the CUDA twin (same header, __host__ __device__) draws the
// identical stream.
#pragma once
#include <cstdint>
#include <cmath>

#ifdef __CUDACC__
#define ADV_HD __host__ __device__ __forceinline__
#else
#define ADV_HD inline
#endif

namespace adv {

ADV_HD uint64_t rng_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

ADV_HD uint64_t rng_bits(uint64_t seed, uint64_t counter) {
  return rng_mix(rng_mix(seed + 0x9e3779b97f4a7c15ULL) ^ (counter * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL));
}

// Uniform in [0, 1) with 53 random bits.
ADV_HD double rng_uniform(uint64_t seed, uint64_t counter) {
  return (double)(rng_bits(seed, counter) >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal by Box-Muller from two independent sub-streams of the same counter.
ADV_HD double rng_normal(uint64_t seed, uint64_t counter) {
  double u1 = ((double)(rng_bits(seed ^ 0x5851f42d4c957f2dULL, counter) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = rng_uniform(seed ^ 0x14057b7ef767814fULL, counter);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

}  // namespace adv
