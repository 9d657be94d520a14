#include "common/result.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace bench {

namespace {

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p)
{
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

void print_result(const char* client, const options& opts, result r)
{
    const double per_message = r.received > 0 ? 1.0 / static_cast<double>(r.received) : 0.0;
    std::printf("RESULT client=%s workload=%s qos=%d payload=%zu count=%zu received=%zu seconds=%.6f cpu_seconds=%.6f "
                "cpu_us_per_msg=%.3f",
                client, workload_name(opts.kind), opts.qos, opts.payload, opts.count, r.received, r.seconds,
                r.cpu_seconds, r.cpu_seconds * 1e6 * per_message);
    if (opts.kind == workload::throughput) {
        const double rate = r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0.0;
        std::printf(" publish_seconds=%.6f msgs_per_s=%.1f mb_per_s=%.3f", r.publish_seconds, rate,
                    rate * static_cast<double>(opts.payload) / 1e6);
    } else {
        auto& rtt = r.round_trips_us;
        std::sort(rtt.begin(), rtt.end());
        const double mean = rtt.empty() ? 0.0 : std::accumulate(rtt.begin(), rtt.end(), 0.0) / rtt.size();
        std::printf(" p50_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f", percentile(rtt, 50), percentile(rtt, 99),
                    rtt.empty() ? 0.0 : rtt.back(), mean);
    }
    std::printf("\n");
    std::fflush(stdout);
}

}  // namespace bench
