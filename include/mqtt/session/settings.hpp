#pragma once

// The session's limits and policies. The client sets them; the session reads
// them at each decision, so a change takes effect at once.

#include <mqtt/queue_policy.hpp>

#include <chrono>
#include <cstddef>

namespace mqtt {
inline namespace v1 {
namespace session {

struct settings {
    std::size_t max_inflight = 20;  // QoS 1/2 messages sent and not yet fully acknowledged
    std::size_t max_queued = 100000;  // messages waiting to be sent; 0 = no count bound
    std::size_t max_queued_bytes = std::size_t{256} << 20;  // their encoded bytes; 0 = no byte bound
    queue_policy policy = queue_policy::reject;
    // A lost connection keeps the session for an automatic reconnect; when
    // false, the loss ends it and fails everything pending at once.
    bool reconnect = true;
    bool resubscribe = true;  // after a reconnect the broker answered with no session
    // Inbound QoS 2 packet ids received and awaiting PUBREL (method B keeps
    // only the id). Going over is a protocol error.
    std::size_t max_inbound_qos2 = 65535;
    std::chrono::milliseconds disconnect_timeout{5000};  // disconnect() waits this long for acks
    // Someone reads log lines: only then are they made, with a debug line
    // per packet sent and received.
    bool logging = false;
};

}  // namespace session
}  // namespace v1
}  // namespace mqtt
