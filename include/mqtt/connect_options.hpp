#pragma once

// How the one-shot helpers (mqtt::publish::single/multiple,
// mqtt::subscribe::simple/callback) connect: paho's keyword arguments
// hostname, port, client_id, keepalive, will, auth, clean_session, protocol.

#include <mqtt/client.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace mqtt {
inline namespace v1 {

// The message the broker publishes when the helper's connection dies.
struct will_options {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};

struct auth_options {
    std::string username;
    std::optional<std::string> password;
};

struct connect_options {
    std::string hostname = "localhost";
    std::uint16_t port = 1883;
    std::string client_id;  // empty: the broker assigns one (needs clean_session)
    int keepalive = 60;
    std::optional<will_options> will;
    std::optional<auth_options> auth;
    bool clean_session = true;
    protocol_version protocol = protocol_version::mqtt311;
};

namespace detail {

// Applies `options` to a new client (throws mqtt::error for an invalid will)
// and connects it; a one-shot helper never reconnects behind the caller's back:
// a lost connection ends it with an error.
inline void connect_oneshot(client& c, const connect_options& options)
{
    if (options.will) c.will_set(options.will->topic, options.will->payload, options.will->qos, options.will->retain);
    if (options.auth) c.username_pw_set(options.auth->username, options.auth->password);
    c.reconnect_on_failure_set(false);
    c.resubscribe_on_reconnect_set(false);
    c.connect(options.hostname, options.port, options.keepalive);
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
