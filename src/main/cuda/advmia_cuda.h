// Host-callable surface of the CUDA kernel library (libadvmia_cuda.a), bound to Java by
// org.advmia.backend.cuda.CudaNative. The same conventions as the CPU kernels (advmia_cpu.h):
// addresses as longs with an element count beside every buffer, dtype codes 0 = float32 and
// 1 = float64, 0 on success or -1 with advc_last_error(). Each entry mirrors the CPU entry of
// the same name (adv_ -> advc_) argument for argument; the CPU kernel is its twin and
// CudaBackendParityTest compares the two. All work is queued on the engine's one stream.
#pragma once

const char* advc_last_error();

// ---- runtime (runtime.cu)
// Number of usable devices; 0 (not an error) when there is no GPU or no driver.
int advc_device_count();
// Binds the library to a device: creates the stream and the device-error word. Idempotent.
int advc_init(int device);
// "name, compute capability, memory" of a device, or the error.
const char* advc_device_info(int device);
long advc_stream();
long advc_malloc(long bytes);
int advc_free(long addr);
// kind: 0 host->device, 1 device->host, 2 device->device; synchronous with the stream.
int advc_memcpy(long dst, long src, long bytes, int kind);
int advc_synchronize();
int advc_copy_in_f32(const float* src, long n, int dt, long dst, long dstn);
int advc_copy_in_f64(const double* src, long n, int dt, long dst, long dstn);
int advc_copy_out_f32(int dt, long src, long srcn, float* dst, long n);
int advc_copy_out_f64(int dt, long src, long srcn, double* dst, long n);
// Stream capture into a CUDA graph: begin, run the ops, end (returns an executable graph or 0),
// launch as often as wanted, destroy.
int advc_graph_begin();
long advc_graph_end();
int advc_graph_launch(long graph);
int advc_graph_destroy(long graph);

// ---- data movement and elementwise (copy.cu, elementwise.cu, unary_fwd.cu, unary_bwd.cu, binary.cu)
int advc_fill(int dt, long y, long yn, long n, double v);
int advc_copy_block(int dt, long src, long sn, long soff, long sstride, long dst, long dn, long doff, long dstride,
                    long rows, long cols);
int advc_cast(int sdt, long src, long sn, int ddt, long dst, long dn, long n);
int advc_transpose(int dt, long b, long r, long c, long x, long xn, long y, long yn);
int advc_unary(int dt, int op, long x, long xn, long y, long yn, long n, double a, double b);
int advc_unary_bwd(int dt, int op, long x, long xn, long y, long yn, long gy, long gyn, long gx, long gxn, long n,
                   double a, double b);
int advc_binary(int dt, int op, long a, long an, long b, long bn, long y, long yn, int ndim, long long* shape,
                long long* as, long long* bs);
int advc_axpby(int dt, long x, long xn, long y, long yn, long out, long outn, long n, double a, double b);

// ---- reductions (reduce.cu)
int advc_reduce(int dt, int op, long x, long xn, long y, long yn, long outer, long n, long inner);
int advc_argmax(int dt, long x, long xn, long y, long yn, long rows, long cols);
// Synchronises (the count comes back to the host); -1 on a bad argument.
long advc_count_nonfinite(int dt, long x, long xn, long n);

// ---- spatial (pool.cu, upsample.cu, median.cu)
int advc_pool2d_fwd(int dt, long long* geom, long x, long xn, long y, long yn, long idx, long idxn);
int advc_pool2d_bwd(int dt, long long* geom, long gy, long gyn, long idx, long idxn, long gx, long gxn);
int advc_gather_planes(int dt, long p, long s, long o, long src, long srcn, long idx, long idxn, long out, long outn);
int advc_median_filter(int dt, long p, long h, long w, long k, long x, long xn, long y, long yn);
int advc_upsample(int dt, int backward, int mode, int align_corners, long n, long c, long h, long w, long oh, long ow,
                  long in, long inn, long out, long outn);

// ---- batch norm (batchnorm.cu): the kernels for what cuDNN's batch norm does not cover
int advc_batchnorm_fwd(int dt, int training, long n, long c, long hw, long cn, double momentum, double eps, long x,
                       long xn, long gamma, long beta, long rmean, long rvar, long y, long yn, long smean, long sinv);
int advc_batchnorm_bwd(int dt, int training, long n, long c, long hw, long cn, long x, long xn, long gy, long gyn,
                       long gamma, long smean, long sinv, long gx, long gxn, long ggamma, long gbeta);

// ---- losses over logits [N, C] (loss_fwd.cu, loss_bwd.cu)
int advc_log_softmax(int dt, int backward, long n, long c, long x, long xn, long y, long yn, long gy, long gyn, long gx,
                     long gxn);
int advc_softmax_ce(int dt, int backward, long n, long c, double smoothing, long z, long zn, long labels, long ln,
                    long weights, long wn, long loss, long lossn, long gloss, long glossn, long gz, long gzn);
int advc_margin(int dt, int backward, long n, long c, long z, long zn, long labels, long ln, long m, long mn, long gm,
                long gmn, long gz, long gzn);
int advc_dlr(int dt, int backward, long n, long c, long z, long zn, long labels, long ln, long targets, long tn,
             long out, long outn, long gout, long goutn, long gz, long gzn);
int advc_bce_logits(int dt, int backward, long n, long c, long x, long xn, long t, long tn, long pw, long pwn,
                    long loss, long lossn, long gloss, long glossn, long gx, long gxn);

// ---- in-place updates (optim_step.cu, random_fwd.cu, attack_step_fwd.cu)
int advc_sgd_step(int dt, long p, long pn, long g, long gn, long buf, long bufn, long n, double lr, double momentum,
                  double dampening, double wd, int nesterov, int first);
int advc_adam_step(int dt, long p, long pn, long g, long gn, long m, long mn, long v, long vn, long n, double lr,
                   double b1, double b2, double eps, double wd, int decoupled, long step);
int advc_random(int dt, int kind, long y, long yn, long n, long seed, long offset, double a, double b);
// The fused attack step; semantics identical to adv_attack_step (advmia_update.h).
int advc_attack_step(int dt, int norm, long n, long d, long x0, long x0n, long x, long xn, long g, long gn,
                     double alpha, long alpha_rows, long arn, double eps, long eps_rows, long ern, long active,
                     long actn, double lo, double hi);

// ---- host emulation (emulate.cu): the pooling, upsampling, median and loss kernels' per-element code run
// on the host over host buffers, so their index arithmetic is tested without a GPU. Same arguments
// as the device entries above; never used by the backend.
int advc_emulate_pool2d_fwd(int dt, long long* geom, long x, long xn, long y, long yn, long idx, long idxn);
int advc_emulate_pool2d_bwd(int dt, long long* geom, long gy, long gyn, long idx, long idxn, long gx, long gxn);
int advc_emulate_upsample(int dt, int backward, int mode, int align_corners, long n, long c, long h, long w, long oh,
                          long ow, long in, long inn, long out, long outn);
int advc_emulate_median_filter(int dt, long p, long h, long w, long k, long x, long xn, long y, long yn);
int advc_emulate_log_softmax(int dt, int backward, long n, long c, long x, long xn, long y, long yn, long gy, long gyn,
                             long gx, long gxn);
int advc_emulate_softmax_ce(int dt, int backward, long n, long c, double smoothing, long z, long zn, long labels, long ln,
                            long weights, long wn, long loss, long lossn, long gloss, long glossn, long gz, long gzn);
int advc_emulate_margin(int dt, int backward, long n, long c, long z, long zn, long labels, long ln, long m, long mn,
                        long gm, long gmn, long gz, long gzn);
int advc_emulate_dlr(int dt, int backward, long n, long c, long z, long zn, long labels, long ln, long targets, long tn,
                     long out, long outn, long gout, long goutn, long gz, long gzn);
int advc_emulate_bce_logits(int dt, int backward, long n, long c, long x, long xn, long t, long tn, long pw, long pwn,
                            long loss, long lossn, long gloss, long glossn, long gx, long gxn);
