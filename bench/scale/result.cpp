#include "scale/result.hpp"

#include <cstdio>

namespace scale {

void print_result(const char* client, const options& opts, const idle_result& r)
{
    const double n = static_cast<double>(opts.clients);
    const double rss_per_client = (static_cast<double>(r.rss_connected_kib) - static_cast<double>(r.rss_before_kib)) / n;
    const double cpu_percent = r.idle_seconds > 0 ? 100.0 * r.idle_cpu_seconds / r.idle_seconds : 0.0;
    std::printf("RESULT client=%s workload=idle clients=%zu connected=%zu keepalive=%d connect_window=%zu "
                "connect_seconds=%.3f rss_before_kib=%zu rss_connected_kib=%zu rss_end_kib=%zu "
                "rss_per_client_kib=%.2f idle_seconds=%.3f idle_cpu_seconds=%.4f idle_cpu_percent=%.3f threads=%zu\n",
                client, opts.clients, r.connected, opts.keepalive, opts.connect_window, r.connect_seconds,
                r.rss_before_kib, r.rss_connected_kib, r.rss_end_kib, rss_per_client, r.idle_seconds,
                r.idle_cpu_seconds, cpu_percent, r.threads);
    std::fflush(stdout);
}

void print_result(const char* client, const options& opts, const active_result& r)
{
    const double rate = r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0.0;
    const double cpu_us = r.received > 0 ? r.cpu_seconds * 1e6 / static_cast<double>(r.received) : 0.0;
    std::printf("RESULT client=%s workload=active clients=%zu qos=%d payload=%zu window=%zu count=%zu received=%zu "
                "failed=%zu budget_ms=%lld seconds=%.4f msgs_per_s=%.1f cpu_seconds=%.4f cpu_us_per_msg=%.3f threads=%zu\n",
                client, opts.clients, opts.qos, opts.payload, opts.window, r.count, r.received, r.failed,
                static_cast<long long>(opts.budget.count()), r.seconds, rate, r.cpu_seconds, cpu_us, r.threads);
    std::fflush(stdout);
}

}  // namespace scale
