// Host-callable surface of the CUDA kernel library (libadvmia_cuda.a), bound to Java by
// org.advmia.backend.cuda.CudaNative. Same conventions as the CPU side: addresses as longs,
// element counts beside every buffer, 0 on success or -1 with advc_last_error().
#pragma once

const char* advc_last_error();
// Number of usable devices; 0 (not an error) when there is no GPU or no driver.
int advc_device_count();
long advc_malloc(long bytes);
int advc_free(long addr);
// kind: 0 host->device, 1 device->host, 2 device->device.
int advc_memcpy(long dst, long src, long bytes, int kind);
int advc_synchronize();
// The fused attack step, float32; semantics identical to adv_attack_step (advmia_update.h).
int advc_attack_step(int norm, long N, long D, long x0, long x0n, long x, long xn, long g, long gn, double alpha,
                     double eps, double lo, double hi);
