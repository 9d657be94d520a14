#pragma once

// The one machine-readable line each run prints, read by bench/report.py:
//   RESULT client=ours workload=throughput qos=1 payload=64 count=N received=N seconds=S cpu_seconds=C ...

#include "common/options.hpp"

#include <cstddef>
#include <vector>

namespace bench {

struct result {
    std::size_t received = 0;  // messages (throughput) or completed round trips (latency)
    double seconds = 0;  // first publish until the last arrival
    double publish_seconds = 0;  // throughput: how long the publish calls took
    double cpu_seconds = 0;  // user + sys of this process over `seconds`
    std::vector<double> round_trips_us;  // latency only
};

void print_result(const char* client, const options& opts, result r);

}  // namespace bench
