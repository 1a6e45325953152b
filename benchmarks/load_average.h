// The 1-minute load average (/proc/loadavg), recorded by the benchmark harnesses at their start and
// end so a report can say how busy the shared machine was; -1 where it cannot be read.
#pragma once
#include <cstdio>

namespace advx::bench {

inline double load1() {
  double l = -1.0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1.0;
    std::fclose(f);
  }
  return l;
}

}  // namespace advx::bench
