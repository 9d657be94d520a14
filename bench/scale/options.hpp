#pragma once

// Command line of the scale programs (bench_scale_ours, _mosquitto, _paho).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace scale {

enum class workload { idle, active };

struct options {
    workload kind = workload::idle;
    std::size_t clients = 0;  // 0: 10 000 (idle) or 1 000 (active)
    int qos = 0;  // active
    std::size_t payload = 64;  // active: bytes per message
    std::size_t count = 100000;  // active: messages in all, spread evenly over the clients
    std::size_t window = 10;  // active: unacknowledged publishes per client (QoS 0: not yet written)
    // At most this many clients wait for their CONNACK at once: Mosquitto
    // listens with a backlog of 100, and a burst of 10 000 SYNs would
    // overflow it and time the kernel's SYN retransmits (1 s, 3 s, ...).
    std::size_t connect_window = 100;
    int keepalive = 60;  // seconds
    std::chrono::milliseconds idle_period{10000};  // idle: CPU measured over this
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    std::chrono::milliseconds timeout{120000};  // bound on each phase (connect, publish, close)
    std::chrono::milliseconds stall_timeout{3000};  // active: no arrival for this long ends the wait
    std::chrono::milliseconds budget{20000};  // active: publishing stops after this long, even short of count
    std::string run_id;  // makes client ids and topics unique per run
};

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws usage_error naming the bad argument; fills in the defaults.
options parse_options(int argc, char** argv);

const char* usage_text();
const char* workload_name(workload kind);

}  // namespace scale
