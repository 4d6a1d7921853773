// A minimal fork-join helper: kernels split a range over SAP_THREADS threads.
// Threads are spawned per call; our kernels take milliseconds, so the ~20 µs spawn cost
// is noise, and there is no idle pool spinning against OpenBLAS's own threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace sap {

int num_threads();
void set_num_threads(int n);

// Runs fn(begin, end, worker) over [0, n) in contiguous chunks. Small ranges (below
// min_chunk items per worker) run on the calling thread only.
template <typename Fn>
void parallel_for(int64_t n, int64_t min_chunk, Fn fn) {
  int64_t workers = std::min<int64_t>(num_threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk)));
  if (workers <= 1) {
    fn(int64_t(0), n, 0);
    return;
  }
  int64_t chunk = (n + workers - 1) / workers;
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int64_t w = 1; w < workers; ++w) {
    int64_t b = w * chunk, e = std::min(n, b + chunk);
    if (b >= e) break;
    pool.emplace_back([=]() { fn(b, e, int(w)); });
  }
  fn(int64_t(0), std::min(n, chunk), 0);
  for (auto& t : pool) t.join();
}

}  // namespace sap
