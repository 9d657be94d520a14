#pragma once

// What the session hands to the layer above, in the order it happened.

#include <mqtt/log_level.hpp>
#include <mqtt/message.hpp>

#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace session {

// CONNACK arrived. return_code 0: the connection is up; otherwise refused.
struct connected {
    bool session_present = false;
    int return_code = 0;
};

// An established connection ended: ec is empty after a clean disconnect().
struct disconnected {
    std::error_code ec;
};

// A publish completed: acknowledged (QoS 1/2), written (QoS 0), or failed.
template <class Token>
struct published {
    int mid = 0;
    Token token;
    std::error_code ec;
};

struct subscribed {
    int mid = 0;
    std::vector<int> granted_qos;  // 0x80 = refused
};

struct unsubscribed {
    int mid = 0;
};

struct log_line {
    log_level level = log_level::debug;
    std::string text;
};

// The layer above calls resubscribe() when it reaches this event: after
// on_connect ran, so that filters on_connect subscribed are not sent twice.
struct resubscribe_due {};

template <class Token>
using event = std::variant<message, connected, disconnected, published<Token>, subscribed, unsubscribed, log_line,
                           resubscribe_due>;

}  // namespace session
}  // namespace v1
}  // namespace mqtt
