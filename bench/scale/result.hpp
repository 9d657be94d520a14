#pragma once

// The machine-readable lines the scale programs print, read by
// bench/scale/report.py:
//   RESULT client=ours workload=idle clients=10000 connected=10000 connect_seconds=S rss_per_client_kib=K ...
//   RESULT client=ours workload=active clients=1000 qos=1 payload=64 count=N received=N msgs_per_s=R ...

#include "scale/options.hpp"

#include <cstddef>

namespace scale {

struct idle_result {
    std::size_t connected = 0;
    double connect_seconds = 0;  // first connect started until the last CONNACK
    std::size_t rss_before_kib = 0;  // before any client existed
    std::size_t rss_connected_kib = 0;  // every client connected
    std::size_t rss_end_kib = 0;  // after the idle period
    double idle_seconds = 0;
    double idle_cpu_seconds = 0;  // user + sys of the whole process (all threads) over idle_seconds
    std::size_t threads = 0;  // of the process while idle
};

struct active_result {
    std::size_t count = 0;  // messages published (clients x per client)
    std::size_t received = 0;  // counted by the subscriber
    std::size_t failed = 0;  // publishes that completed with an error
    double seconds = 0;  // first publish until the last arrival
    double cpu_seconds = 0;  // user + sys of the whole process over the publishing
    std::size_t threads = 0;
};

void print_result(const char* client, const options& opts, const idle_result& r);
void print_result(const char* client, const options& opts, const active_result& r);

}  // namespace scale
