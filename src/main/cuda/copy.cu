// Data movement: strided block copies, batched transposes, per-plane gathers.
// Twins: adv_copy_block / adv_transpose (advmia_elementwise.h), adv_gather_planes (advmia_spatial.h).
#include "advmia_cuda_common.cuh"

namespace {
using namespace advc;

template <class T> int copy_block_impl(long src, long soff, long sstride, long dst, long doff, long dstride, long rows,
                                       long cols) {
  // A pitched 2-D copy is exactly this op, and the copy engine does it without a kernel.
  return check(cudaMemcpy2DAsync(ptr<T>(dst) + doff, dstride * sizeof(T), ptr<const T>(src) + soff,
                                 sstride * sizeof(T), cols * sizeof(T), rows, cudaMemcpyDeviceToDevice, stream()),
               "copy_block");
}

constexpr int kTile = 32;

// y[b, c, r] = x[b, r, c] through a shared-memory tile so both the reads and the writes coalesce;
// the +1 column keeps the tile's columns in different banks.
template <class T> __global__ void transpose_kernel(const T* x, T* y, long R, long C, long tiles_r, long tiles_c) {
  __shared__ T tile[kTile][kTile + 1];
  long t = blockIdx.x, b = t / (tiles_r * tiles_c), rem = t % (tiles_r * tiles_c);
  long r0 = (rem / tiles_c) * kTile, c0 = (rem % tiles_c) * kTile;
  const T* xb = x + b * R * C;
  T* yb = y + b * R * C;
  for (int i = threadIdx.y; i < kTile; i += blockDim.y) {
    long r = r0 + i, c = c0 + threadIdx.x;
    if (r < R && c < C) tile[i][threadIdx.x] = xb[r * C + c];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < kTile; i += blockDim.y) {
    long c = c0 + i, r = r0 + threadIdx.x;
    if (r < R && c < C) yb[c * R + r] = tile[threadIdx.x][i];
  }
}

template <class T> int transpose_impl(long B, long R, long C, long x, long y) {
  if (B * R * C == 0) return 0;
  long tiles_r = (R + kTile - 1) / kTile, tiles_c = (C + kTile - 1) / kTile;
  long blocks = B * tiles_r * tiles_c;
  if (blocks > 0x7fffffffL) return fail("transpose: %ld tiles exceed one grid", blocks);
  transpose_kernel<T><<<(unsigned)blocks, dim3(kTile, 8), 0, stream()>>>(ptr<const T>(x), ptr<T>(y), R, C, tiles_r, tiles_c);
  return launched("transpose");
}

template <class T> __global__ void gather_planes_kernel(const T* src, const T* idx, T* out, long S, long O, long total,
                                                        int* err) {
  ADVC_GRID_STRIDE(i, total) {
    long p = i / O;
    double v = idx[i];
    if (!(v >= 0) || v >= (double)S) {
      report(err, E_GATHER_INDEX);
      out[i] = 0;
      continue;
    }
    out[i] = src[p * S + (long)v];
  }
}

template <class T> int gather_planes_impl(long P, long S, long O, long src, long idx, long out) {
  long total = P * O;
  if (total == 0) return 0;
  gather_planes_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(ptr<const T>(src), ptr<const T>(idx),
                                                                        ptr<T>(out), S, O, total, device_error_word());
  return launched("gather_planes");
}

}  // namespace

int advc_copy_block(int dt, long src, long sn, long soff, long sstride, long dst, long dn, long doff, long dstride,
                    long rows, long cols) {
  int rc = 0;
  const char* name = "copy_block";
  ADVC_CHECK_NONNEG(name, "rows", rows);
  ADVC_CHECK_NONNEG(name, "cols", cols);
  ADVC_CHECK_NONNEG(name, "source offset", soff);
  ADVC_CHECK_NONNEG(name, "destination offset", doff);
  if (rc) return rc;
  if (rows == 0 || cols == 0) return 0;
  if (sstride < cols || dstride < cols)
    return fail("copy_block: row strides (%ld, %ld) shorter than a row (%ld)", sstride, dstride, cols);
  ADVC_CHECK_BUF(name, "source", src, sn, soff + (rows - 1) * sstride + cols);
  ADVC_CHECK_BUF(name, "destination", dst, dn, doff + (rows - 1) * dstride + cols);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, copy_block_impl, src, soff, sstride, dst, doff, dstride, rows, cols);
}

int advc_transpose(int dt, long B, long R, long C, long x, long xn, long y, long yn) {
  int rc = 0;
  ADVC_CHECK_NONNEG("transpose", "batch", B);
  ADVC_CHECK_NONNEG("transpose", "rows", R);
  ADVC_CHECK_NONNEG("transpose", "cols", C);
  ADVC_CHECK_BUF("transpose", "input", x, xn, B * R * C);
  ADVC_CHECK_BUF("transpose", "output", y, yn, B * R * C);
  if (rc) return rc;
  ADVC_DISPATCH("transpose", dt, transpose_impl, B, R, C, x, y);
}

int advc_gather_planes(int dt, long P, long S, long O, long src, long srcn, long idx, long idxn, long out, long outn) {
  int rc = 0;
  const char* name = "gather_planes";
  ADVC_CHECK_NONNEG(name, "planes", P);
  ADVC_CHECK_POS(name, "plane size", S);
  ADVC_CHECK_NONNEG(name, "outputs per plane", O);
  ADVC_CHECK_BUF(name, "source", src, srcn, P * S);
  ADVC_CHECK_BUF(name, "indices", idx, idxn, P * O);
  ADVC_CHECK_BUF(name, "output", out, outn, P * O);
  if (rc) return rc;
  ADVC_DISPATCH(name, dt, gather_planes_impl, P, S, O, src, idx, out);
}
