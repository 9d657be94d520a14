#pragma once

// What a client library must offer the workloads: one MQTT connection. Each
// bench program (ours.cpp, mosquitto.cpp, paho.cpp, raw.cpp) implements it
// once; workloads.cpp then runs the same workloads over every library.

#include "common/options.hpp"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bench {

struct bench_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class connection {
public:
    // Runs on the library's own thread for each message on the subscribed topic.
    using message_handler = std::function<void(std::string_view payload)>;

    virtual ~connection() = default;

    // Connects (clean session, MQTT 3.1.1, in-flight window 100, TCP_NODELAY
    // where the library has it) and returns once CONNACK arrived. Throws
    // bench_error.
    virtual void open(const options& opts, const std::string& client_id, message_handler on_message) = 0;
    // Returns once SUBACK arrived. Throws bench_error.
    virtual void subscribe(const std::string& topic, int qos) = 0;
    // Hands one message to the library; waits (briefly, repeatedly) only when
    // the library refuses it for lack of room. Safe from the handler's thread.
    virtual void publish(const std::string& topic, std::string_view payload, int qos) = 0;
    // Disconnects cleanly, bounded in time.
    virtual void close() = 0;
};

using connection_factory = std::function<std::unique_ptr<connection>()>;

}  // namespace bench
