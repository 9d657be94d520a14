#pragma once

// What each scale program implements over its library: many clients driven
// as that library intends (ours: one io_context on one thread; libmosquitto:
// one epoll loop on one thread; Paho: its own background threads). The
// workloads (workloads.cpp) time and measure around these calls.

#include "common/measure.hpp"
#include "scale/options.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace scale {

using bench::clock;

class fleet {
public:
    explicit fleet(const options& opts) : opts_(opts) {}
    virtual ~fleet() = default;
    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    // Connects `count` more clients (clean session, opts.keepalive), at most
    // opts.connect_window awaiting CONNACK at once. Returns when every one
    // has its CONNACK or failed, or at the deadline: how many are connected.
    virtual std::size_t connect(std::size_t count, clock::time_point deadline) = 0;

    // Lets the connected clients be (keepalive only) for `period`.
    virtual void idle(clock::duration period) = 0;

    // Connects one more client that subscribes to `filter` at opts.qos and
    // adds every message it gets to `arrivals`. Throws when that fails.
    virtual void subscribe(const std::string& filter, bench::arrival_counter& arrivals,
                           clock::time_point deadline) = 0;

    // Client i publishes `per_client` messages of opts.payload bytes to
    // topic_prefix + i at opts.qos, at most opts.window unacknowledged;
    // returns once publishing_over() holds. Returns failed publishes.
    virtual std::size_t publish(const std::string& topic_prefix, std::size_t per_client,
                                const bench::arrival_counter& arrivals, clock::time_point deadline) = 0;

    // Disconnects everything, giving up at the deadline.
    virtual void close(clock::time_point deadline) = 0;

protected:
    std::string client_id(std::size_t i) const { return "scale-" + opts_.run_id + "-" + std::to_string(i); }

    // Every message arrived, or none came for opts.stall_timeout (a lost
    // QoS 0 message must not hang the run), or the deadline passed.
    bool publishing_over(const bench::arrival_counter& arrivals, std::size_t expected, clock::time_point started,
                         clock::time_point deadline) const
    {
        if (arrivals.received() >= expected) return true;
        const auto now = clock::now();
        return now >= deadline || now - std::max(started, arrivals.last_arrival()) >= opts_.stall_timeout;
    }

    const options opts_;
};

using fleet_factory = std::function<std::unique_ptr<fleet>(const options&)>;

// A scale program's main: parses the arguments, runs the workload, prints
// the RESULT line. Exit status 0, 1 on failure, 2 on bad arguments.
// fds_per_client: open files each client of this library holds.
int scale_main(int argc, char** argv, const char* client, const fleet_factory& make, std::size_t fds_per_client = 1);

}  // namespace scale
