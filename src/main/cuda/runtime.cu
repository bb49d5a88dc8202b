// Device, stream, memory, host copies, graph capture and the deferred device-error word.
#include <cstring>
#include <mutex>
#include "advmia_cuda_common.cuh"

namespace advc {

// Engine state (one engine context per process).
namespace rt {
thread_local char g_error[1024];
int g_device = -1;
cudaStream_t g_stream = nullptr;
int* g_error_host = nullptr;    // mapped pinned memory: the kernels write it, the host reads it
int* g_error_device = nullptr;
std::mutex g_init_mutex;
thread_local int t_device = -1;

// Staging for host copies that change dtype (a float[] into a float64 tensor): grows to its
// high-water mark once. Only the dataset boundary copies, never an attack loop.
void* g_staging = nullptr;
size_t g_staging_bytes = 0;
std::mutex g_staging_mutex;

const char* device_error_message(int code) {
  switch (code) {
    case E_CE_LABEL: return "cross_entropy: a label is not an integer class index in [0, C)";
    case E_MARGIN_LABEL: return "margin: a label is not an integer class index in [0, C)";
    case E_DLR_LABEL: return "dlr: a label or target is not an integer class index in [0, C)";
    case E_POOL_INDEX: return "pool2d_bwd: max-pool indices out of range for their plane";
    case E_GATHER_INDEX: return "gather_planes: an index is outside its plane";
  }
  return "unknown device-side error";
}
}  // namespace rt

using namespace rt;

int fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error, sizeof g_error, fmt, ap);
  va_end(ap);
  return -1;
}

int check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return 0;
  return fail("%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

cudaStream_t stream() { return g_stream; }

int* device_error_word() { return g_error_device; }

int ensure_device() {
  if (g_device < 0) return fail("CUDA library used before advc_init");
  if (t_device == g_device) return 0;
  if (check(cudaSetDevice(g_device), "cudaSetDevice")) return -1;
  t_device = g_device;
  return 0;
}

// Waits for the stream, then turns a device-side error code into an error message (and clears it).
int sync_and_report(const char* what) {
  if (check(cudaStreamSynchronize(g_stream), what)) return -1;
  int code = __atomic_exchange_n(g_error_host, 0, __ATOMIC_SEQ_CST);
  return code ? fail("%s (reported by a kernel, surfaced at %s)", device_error_message(code), what) : 0;
}

void* staging(size_t bytes) {
  if (bytes <= g_staging_bytes) return g_staging;
  if (g_staging) cudaFree(g_staging);
  g_staging = nullptr;
  g_staging_bytes = 0;
  if (cudaMalloc(&g_staging, bytes) != cudaSuccess) return nullptr;
  g_staging_bytes = bytes;
  return g_staging;
}

}  // namespace advc

using namespace advc;

const char* advc_last_error() { return g_error; }

int advc_device_count() {
  int n = 0;  // left unset when the driver is missing (cudaErrorInsufficientDriver)
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

const char* advc_device_info(int device) {
  static thread_local char info[512];
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) {
    snprintf(info, sizeof info, "device %d: %s", device, cudaGetErrorString(cudaGetLastError()));
    return info;
  }
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  snprintf(info, sizeof info, "%s, sm_%d%d, %.1f GiB, %d SMs, runtime %d, driver %d", p.name, p.major, p.minor,
           p.totalGlobalMem / 1073741824.0, p.multiProcessorCount, runtime, driver);
  return info;
}

int advc_init(int device) {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (g_device >= 0) return device == g_device ? 0 : fail("CUDA engine already bound to device %d, not %d", g_device, device);
  int count = advc_device_count();
  if (device < 0 || device >= count) return fail("cuda:%d requested but %d CUDA device(s) are visible", device, count);
  if (check(cudaSetDevice(device), "cudaSetDevice")) return -1;
  if (check(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking), "cudaStreamCreate")) return -1;
  if (check(cudaHostAlloc((void**)&g_error_host, sizeof(int), cudaHostAllocMapped), "cudaHostAlloc")) return -1;
  *g_error_host = 0;
  if (check(cudaHostGetDevicePointer((void**)&g_error_device, g_error_host, 0), "cudaHostGetDevicePointer")) return -1;
  g_device = device;
  t_device = device;
  return 0;
}

long advc_stream() { return (long)g_stream; }

long advc_malloc(long bytes) {
  if (bytes <= 0) { fail("malloc: %ld bytes", bytes); return 0; }
  if (ensure_device()) return 0;
  void* p = nullptr;
  if (check(cudaMalloc(&p, (size_t)bytes), "cudaMalloc")) return 0;
  return (long)p;
}

int advc_free(long addr) {
  if (!addr) return 0;
  if (ensure_device()) return -1;
  return check(cudaFree((void*)addr), "cudaFree");
}

int advc_memcpy(long dst, long src, long bytes, int kind) {
  if (bytes < 0) return fail("memcpy: negative byte count %ld", bytes);
  if (kind < 0 || kind > 2) return fail("memcpy: unknown direction %d", kind);
  if (bytes == 0) return 0;
  if (!dst || !src) return fail("memcpy: null pointer");
  if (ensure_device()) return -1;
  cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice : kind == 1 ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  if (check(cudaMemcpyAsync((void*)dst, (const void*)src, (size_t)bytes, k, g_stream), "cudaMemcpyAsync")) return -1;
  return sync_and_report("memcpy");
}

int advc_synchronize() {
  if (ensure_device()) return -1;
  return sync_and_report("synchronize");
}

namespace {
template <class S, class D> __global__ void cast_kernel(const S* src, D* dst, long n) {
  ADVC_GRID_STRIDE(i, n) dst[i] = (D)src[i];
}

// Host array of S -> device tensor of dtype dt (converting through the staging buffer if needed).
template <class S> int copy_in(const S* src, long n, int dt, long dst, long dstn) {
  int rc = 0;
  ADVC_CHECK_NONNEG("copy_in", "n", n);
  ADVC_CHECK_BUF("copy_in", "destination", dst, dstn, n);
  if (rc) return rc;
  if (dt != 0 && dt != 1) return fail("copy_in: dtype code %d is neither float32 (0) nor float64 (1)", dt);
  if (n == 0) return 0;
  if (!src) return fail("copy_in: null host array");
  if (ensure_device()) return -1;
  const bool same = (dt == 0) == (sizeof(S) == 4);
  if (same) {
    if (check(cudaMemcpyAsync((void*)dst, src, n * sizeof(S), cudaMemcpyHostToDevice, g_stream), "copy_in")) return -1;
    return sync_and_report("copy_in");  // the Java array may move once we return
  }
  std::lock_guard<std::mutex> lock(g_staging_mutex);
  S* stage = (S*)staging(n * sizeof(S));
  if (!stage) return fail("copy_in: could not allocate %ld bytes of staging memory", (long)(n * sizeof(S)));
  if (check(cudaMemcpyAsync(stage, src, n * sizeof(S), cudaMemcpyHostToDevice, g_stream), "copy_in")) return -1;
  if (dt == 0) cast_kernel<S, float><<<blocks_for(n), kThreads, 0, g_stream>>>(stage, (float*)dst, n);
  else cast_kernel<S, double><<<blocks_for(n), kThreads, 0, g_stream>>>(stage, (double*)dst, n);
  if (launched("copy_in cast")) return -1;
  return sync_and_report("copy_in");
}

template <class D> int copy_out(int dt, long src, long srcn, D* dst, long n) {
  int rc = 0;
  ADVC_CHECK_NONNEG("copy_out", "n", n);
  ADVC_CHECK_BUF("copy_out", "source", src, srcn, n);
  if (rc) return rc;
  if (dt != 0 && dt != 1) return fail("copy_out: dtype code %d is neither float32 (0) nor float64 (1)", dt);
  if (ensure_device()) return -1;
  if (n == 0) return sync_and_report("copy_out");
  if (!dst) return fail("copy_out: null host array");
  const bool same = (dt == 0) == (sizeof(D) == 4);
  if (same) {
    if (check(cudaMemcpyAsync(dst, (const void*)src, n * sizeof(D), cudaMemcpyDeviceToHost, g_stream), "copy_out"))
      return -1;
    return sync_and_report("copy_out");
  }
  std::lock_guard<std::mutex> lock(g_staging_mutex);
  D* stage = (D*)staging(n * sizeof(D));
  if (!stage) return fail("copy_out: could not allocate %ld bytes of staging memory", (long)(n * sizeof(D)));
  if (dt == 0) cast_kernel<float, D><<<blocks_for(n), kThreads, 0, g_stream>>>((const float*)src, stage, n);
  else cast_kernel<double, D><<<blocks_for(n), kThreads, 0, g_stream>>>((const double*)src, stage, n);
  if (launched("copy_out cast")) return -1;
  if (check(cudaMemcpyAsync(dst, stage, n * sizeof(D), cudaMemcpyDeviceToHost, g_stream), "copy_out")) return -1;
  return sync_and_report("copy_out");
}
}  // namespace

int advc_copy_in_f32(const float* src, long n, int dt, long dst, long dstn) { return copy_in<float>(src, n, dt, dst, dstn); }
int advc_copy_in_f64(const double* src, long n, int dt, long dst, long dstn) { return copy_in<double>(src, n, dt, dst, dstn); }
int advc_copy_out_f32(int dt, long src, long srcn, float* dst, long n) { return copy_out<float>(dt, src, srcn, dst, n); }
int advc_copy_out_f64(int dt, long src, long srcn, double* dst, long n) { return copy_out<double>(dt, src, srcn, dst, n); }

int advc_graph_begin() {
  if (ensure_device()) return -1;
  // Thread-local mode: other threads may keep using the runtime (a prefetching data loader) while
  // the engine's stream records; an unsafe call (cudaMalloc, a sync) on this thread fails the capture.
  return check(cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
}

long advc_graph_end() {
  if (ensure_device()) return 0;
  cudaGraph_t graph = nullptr;
  if (check(cudaStreamEndCapture(g_stream, &graph), "cudaStreamEndCapture")) return 0;
  cudaGraphExec_t exec = nullptr;
  cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (check(e, "cudaGraphInstantiate")) return 0;
  return (long)exec;
}

int advc_graph_launch(long graph) {
  if (!graph) return fail("graph_launch: null graph");
  if (ensure_device()) return -1;
  return check(cudaGraphLaunch((cudaGraphExec_t)graph, g_stream), "cudaGraphLaunch");
}

int advc_graph_destroy(long graph) {
  if (!graph) return 0;
  if (ensure_device()) return -1;
  return check(cudaGraphExecDestroy((cudaGraphExec_t)graph), "cudaGraphExecDestroy");
}
