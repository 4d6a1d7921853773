// A minimal fork-join helper: kernels split a range over SAP_THREADS threads.
// Threads are spawned per call; our kernels take milliseconds, so the ~20 µs spawn cost
// is noise, and there is no idle pool spinning against OpenBLAS's own threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace sap {

int num_threads();
void set_num_threads(int n);

// Runs fn(begin, end, worker) over [0, n) in contiguous chunks. Small ranges (below
// min_chunk items per worker) run on the calling thread only. An exception in any worker
// (std::bad_alloc above all) is carried back and rethrown on the calling thread after every
// worker has joined: the binding turns it into a JS error instead of the process aborting.
template <typename Fn>
void parallel_for(int64_t n, int64_t min_chunk, Fn fn) {
  int64_t workers = std::min<int64_t>(num_threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk)));
  if (workers <= 1) {
    fn(int64_t(0), n, 0);
    return;
  }
  int64_t chunk = (n + workers - 1) / workers;
  std::exception_ptr first;
  std::mutex first_lock;
  auto guarded = [&](int64_t b, int64_t e, int w) {
    try {
      fn(b, e, w);
    } catch (...) {
      std::lock_guard<std::mutex> hold(first_lock);
      if (!first) first = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  try {
    pool.reserve(workers - 1);
    for (int64_t w = 1; w < workers; ++w) {
      int64_t b = w * chunk, e = std::min(n, b + chunk);
      if (b >= e) break;
      pool.emplace_back([=, &guarded]() { guarded(b, e, int(w)); });
    }
  } catch (...) {
    // No thread could be started (resources): what was not handed out runs here.
    std::lock_guard<std::mutex> hold(first_lock);
    if (!first) first = std::current_exception();
  }
  if (!first) guarded(int64_t(0), std::min(n, chunk), 0);
  for (auto& t : pool) t.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace sap
