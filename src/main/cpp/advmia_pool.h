// A small work-sharing thread pool for the hot CPU kernels (convolution, GEMM blocks,
// elementwise, pooling, batch norm), used instead of OpenMP parallel regions.
//
// Why not OpenMP: on a machine whose cores are shared with other processes (measured here: 2
// cores, load average 5-7), libgomp's defaults made 2 threads 3.5x SLOWER than 1 (SmallCNN
// forward+backward: 914 ms vs 256 ms): idle workers spin for up to ~300k pause iterations
// after every region, burning their share of the CPU, and a statically split loop waits at its
// barrier for a worker that the scheduler has parked. This pool
//   * hands out work items dynamically (an atomic counter), the calling thread included, so a
//     parked worker never holds up work it has not claimed;
//   * lets a worker join a job only while the caller is still handing out items, so the caller
//     waits only for items already in progress, never for a worker to wake up;
//   * spins briefly (200 us, kSpinSeconds) before sleeping on a condition variable;
//   * backs off to serial execution while parallel jobs keep losing time (see account()).
// On an idle machine it behaves like OpenMP's dynamic schedule.
//
// The thread count is OpenMP's (omp_get_max_threads(), set by adv_set_threads); calls from
// inside a pool job, or while another Java thread is running a job, run serially.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#include "advmia_common.h"

namespace adv {

inline bool& tl_in_pool() {
  static thread_local bool in = false;
  return in;
}

// True on a thread that is running pool work (nested parallelism runs serially).
inline bool in_parallel() { return tl_in_pool() || omp_in_parallel(); }

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class Pool {
 public:
  typedef void (*Call)(void* ctx, long item, int slot);

  static Pool& get() {
    static Pool* p = new Pool();  // never destroyed: workers stay parked until the process exits
    return *p;
  }

  // Runs call(ctx, i, slot) for every i in [0, n) on up to `threads` threads. `slot` is 0 for the
  // calling thread and 1..threads-1 for workers; within one job a slot is one thread.
  void run(long n, int threads, Call call, void* ctx) {
    if (n <= 0) return;
    std::unique_lock<std::mutex> job_lock(job_m_, std::defer_lock);
    if (threads <= 1 || n == 1 || in_parallel() || !job_lock.try_lock()) {
      serial(n, call, ctx);
      return;
    }
    if (backoff_left_ > 0) {  // recent parallel jobs lost time: run serially for a while
      backoff_left_--;
      job_lock.unlock();
      serial(n, call, ctx);
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lk(m_);
      while ((int)workers_.size() < threads - 1) {
        int id = (int)workers_.size() + 1;
        workers_.emplace_back([this, id] { worker(id); });
        workers_.back().detach();
      }
      call_ = call;
      ctx_ = ctx;
      n_ = n;
      next_.store(0, std::memory_order_relaxed);
      wanted_ = threads - 1;
      joined_ = 0;
      open_ = true;
      gen_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    tl_in_pool() = true;
    long mine = 0;
    for (long i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n;) {
      call(ctx, i, 0);
      mine++;
    }
    tl_in_pool() = false;
    {
      std::lock_guard<std::mutex> lk(m_);
      open_ = false;  // from here on no worker joins; wait only for those already working
    }
    const auto t1 = std::chrono::steady_clock::now();
    spin_while([this] { return inflight_.load(std::memory_order_acquire) > 0; });
    if (inflight_.load(std::memory_order_acquire) > 0) {
      std::unique_lock<std::mutex> lk(m_);
      done_.wait(lk, [this] { return inflight_.load(std::memory_order_acquire) == 0; });
    }
    account(n, mine, std::chrono::duration<double>(t1 - t0).count(),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  }

 private:
  // How long a thread spins before it sleeps: a worker waiting for the next job, the caller for the
  // workers' last items. A job that finds its worker asleep pays the wake-up (tens of us on a VM)
  // on its critical path; SmallCNN's training step runs ~35 jobs in 25 ms with gaps of Java work
  // between them, and a 20 us spin (what 2,000 pauses take on this machine's CPU, ~50 us on older
  // ones) left the worker asleep for most: 200 us made NAT epochs and PGD steps ~3 % faster at
  // the same process CPU time. By time, not pause count (a pause is 10-140 cycles by CPU model).
  static constexpr double kSpinSeconds = 200e-6;

  template <class P> static void spin_while(P busy) {
    const auto t0 = std::chrono::steady_clock::now();
    while (busy()) {
      for (int s = 0; s < 64; s++) {
        if (!busy()) return;
        cpu_relax();
      }
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > kSpinSeconds) return;
    }
  }

  // Adaptive back-off. A worker that the OS preempts in the middle of an item holds up the
  // caller until it runs again, which on an oversubscribed machine (other processes on our
  // cores) takes milliseconds, far more than the job. After each job we compare its time with
  // what the caller alone would have taken (its own items' time scaled to all items); when the
  // recent balance turns negative, jobs run serially for a while (16 jobs, doubling up to 4096
  // while it keeps happening), then parallelism is tried again. On an idle machine the balance
  // stays positive and nothing changes. Measured: SmallCNN training steps at batch 8, 2 threads,
  // load average 8 on 2 cores: 69 s for 2,000 steps without this, vs 22 s with 1 thread.
  void account(long n, long mine, double own_s, double wait_s) {
    const double alone = mine > 0 ? own_s * (double)n / (double)mine : own_s + wait_s;
    balance_ = 0.75 * balance_ + (alone - own_s - wait_s);
    if (balance_ < -kLossThreshold) {
      backoff_left_ = backoff_len_;
      backoff_len_ = std::min(backoff_len_ * 2, kMaxBackoff);
      balance_ = 0;
    } else if (balance_ > kLossThreshold) {
      backoff_len_ = kMinBackoff;
    }
  }

  static constexpr double kLossThreshold = 1e-3;  // seconds
  static constexpr long kMinBackoff = 16, kMaxBackoff = 4096;

  static void serial(long n, Call call, void* ctx) {
    for (long i = 0; i < n; i++) call(ctx, i, 0);
  }

  void worker(int) {
    tl_in_pool() = true;
    uint64_t seen = gen_.load(std::memory_order_acquire);
    for (;;) {
      spin_while([&] { return gen_.load(std::memory_order_acquire) == seen; });
      std::unique_lock<std::mutex> lk(m_);
      wake_.wait(lk, [&] { return gen_.load(std::memory_order_relaxed) != seen; });
      seen = gen_.load(std::memory_order_relaxed);
      if (!open_ || joined_ >= wanted_) continue;
      const int slot = ++joined_;
      inflight_.fetch_add(1, std::memory_order_relaxed);
      const Call call = call_;
      void* const ctx = ctx_;
      const long n = n_;
      lk.unlock();
      for (long i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n;) call(ctx, i, slot);
      lk.lock();
      if (inflight_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.notify_all();
    }
  }

  std::mutex job_m_;  // one job at a time
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<long> next_{0};
  std::atomic<int> inflight_{0};
  Call call_ = nullptr;
  void* ctx_ = nullptr;
  long n_ = 0;
  int wanted_ = 0, joined_ = 0;
  bool open_ = false;
  // Back-off state; only touched by the thread holding job_m_.
  double balance_ = 0;
  long backoff_left_ = 0, backoff_len_ = kMinBackoff;
};

inline int pool_threads() { return std::max(1, std::min(256, omp_get_max_threads())); }

// fn(i, slot) for i in [0, n), dynamically shared among the pool's threads.
template <class F> void parallel_for_slots(long n, F&& fn) {
  auto call = [](void* ctx, long i, int slot) { (*static_cast<F*>(ctx))(i, slot); };
  Pool::get().run(n, pool_threads(), call, static_cast<void*>(&fn));
}

// fn(i) for i in [0, n); serial when `parallel` is false.
template <class F> void parallel_for(long n, F&& fn, bool parallel = true) {
  if (!parallel) {
    for (long i = 0; i < n; i++) fn(i);
    return;
  }
  parallel_for_slots(n, [&](long i, int) { fn(i); });
}

// fn(begin, end) over [0, n) in blocks of `grain` (serial when n <= grain).
template <class F> void parallel_range(long n, long grain, F&& fn) {
  grain = std::max(1L, grain);
  if (n <= grain || pool_threads() <= 1) {
    if (n > 0) fn(0L, n);
    return;
  }
  const long blocks = (n + grain - 1) / grain;
  parallel_for(blocks, [&](long b) { fn(b * grain, std::min(n, (b + 1) * grain)); });
}

// fn(i) for i in [0, n), where each item costs about `work` elements of traffic: items are
// grouped so that a block is about kParallelGrain elements.
template <class F> void parallel_items(long n, long work, F&& fn) {
  const long grain = std::max(1L, kParallelGrain / std::max(1L, work));
  parallel_range(n, grain, [&](long b, long e) {
    for (long i = b; i < e; i++) fn(i);
  });
}

}  // namespace adv
