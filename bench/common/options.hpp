#pragma once

// Command line of every bench program: which workload, how big, which broker.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace bench {

enum class workload { throughput, latency };

struct options {
    workload kind = workload::throughput;
    int qos = 0;
    std::size_t payload = 64;  // bytes per message
    std::size_t count = 0;  // messages (throughput) or round trips (latency)
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    std::chrono::milliseconds timeout{60000};  // bound on one whole run
    std::chrono::milliseconds idle_timeout{3000};  // no arrival for this long ends the wait (lost QoS 0)
    std::chrono::milliseconds latency_budget{4000};  // latency: stop after this long, even short of count
    std::string run_id;  // makes client ids and topics unique per run
};

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws usage_error with a message that names the bad argument.
options parse_options(int argc, char** argv);

const char* usage_text();
const char* workload_name(workload kind);

}  // namespace bench
