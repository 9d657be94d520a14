#pragma once

// The settings both faces share (paho's setters), kept in their engine.
// Invalid values throw mqtt::error naming the call.

#include <mqtt/detail/config.hpp>
#include <mqtt/detail/engine.hpp>
#include <mqtt/log_level.hpp>
#include <mqtt/queue_policy.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mqtt {
inline namespace v1 {
namespace detail {

class client_settings {
public:
    MQTT_CLIENT_DECL void username_pw_set(std::string username, std::optional<std::string> password = std::nullopt);
    MQTT_CLIENT_DECL void will_set(std::string_view topic, std::string_view payload = {}, int qos = 0,
                                   bool retain = false);
    MQTT_CLIENT_DECL void will_clear();
    MQTT_CLIENT_DECL void max_inflight_messages_set(int inflight);  // default 20
    MQTT_CLIENT_DECL void max_queued_messages_set(std::size_t queue_size);  // default 100000; 0 = no count bound
    MQTT_CLIENT_DECL void max_queued_bytes_set(std::size_t bytes);  // 0 = no byte bound; default 256 MiB
    MQTT_CLIENT_DECL void queue_policy_set(queue_policy policy);  // default reject
    // Automatic reconnect after a lost connection (paho's
    // reconnect_on_failure, default on): delays grow from min to max with jitter.
    MQTT_CLIENT_DECL void reconnect_delay_set(std::chrono::milliseconds min_delay = std::chrono::seconds(1),
                                              std::chrono::milliseconds max_delay = std::chrono::seconds(120));
    MQTT_CLIENT_DECL void reconnect_on_failure_set(bool enabled);
    MQTT_CLIENT_DECL void reconnect_jitter_seed(std::uint32_t seed);  // reproducible delays, for tests
    // After an automatic reconnect (not after disconnect() + connect()) that
    // found no session on the broker, subscribes again to the filters this
    // session subscribed, except those on_connect just subscribed (default on).
    MQTT_CLIENT_DECL void resubscribe_on_reconnect_set(bool enabled);
    // QoS 2 messages received and awaiting their PUBREL (only the packet id is
    // kept); more is a protocol error that closes the connection. Default 65535.
    MQTT_CLIENT_DECL void max_inbound_qos2_set(std::size_t count);
    MQTT_CLIENT_DECL void connect_timeout_set(std::chrono::milliseconds timeout);  // default 5 s
    MQTT_CLIENT_DECL void disconnect_timeout_set(std::chrono::milliseconds timeout);  // default 5 s
    MQTT_CLIENT_DECL void max_packet_size_set(std::size_t bytes);  // largest packet accepted from the broker
    // Log lines also go to `out` (as paho's enable_logger); the library never
    // writes to stdout or stderr by itself. Passwords never appear in a line.
    void enable_logger(std::ostream& out, log_level min_level = log_level::debug)
    {
        engine_->enable_logger(out, min_level);
    }
    void disable_logger() { engine_->disable_logger(); }

    bool is_connected() const noexcept { return engine_->is_connected(); }
    MQTT_CLIENT_DECL std::size_t queued_messages() const;

protected:
    explicit client_settings(std::shared_ptr<engine> e) noexcept : engine_(std::move(e)) {}
    ~client_settings() = default;
    client_settings(const client_settings&) = delete;
    client_settings& operator=(const client_settings&) = delete;

    const std::shared_ptr<engine> engine_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt

#if defined(MQTT_CLIENT_HEADER_ONLY)
#include <mqtt/detail/impl/client_settings.ipp>
#endif
