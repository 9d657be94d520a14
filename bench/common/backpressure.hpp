#pragma once

// Publishing faster than a library's queue admits: wait a little and retry.
// Libraries with unbounded queues never get here; ours (packet-id space) and
// Paho (buffered-message and message-id limits) may, when the publisher is
// far ahead of the socket.

#include "common/connection.hpp"
#include "common/measure.hpp"

#include <chrono>
#include <string>
#include <thread>

namespace bench {

// try_publish() returns true once the library took the message.
template <class TryPublish>
void publish_with_backpressure(TryPublish&& try_publish, clock::duration limit, const char* library)
{
    if (try_publish()) return;
    const auto give_up = clock::now() + limit;
    do {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        if (clock::now() >= give_up)
            throw bench_error(std::string(library) + ": publish still refused (queue full) after the run timeout");
    } while (!try_publish());
}

}  // namespace bench
