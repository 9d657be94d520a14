#pragma once

// The shared setters: validate, then change the engine's settings under its lock.

#include <mqtt/detail/arguments.hpp>
#include <mqtt/protocol/utf8.hpp>

namespace mqtt {
inline namespace v1 {
namespace detail {

inline void check(std::error_code ec, const char* call, std::string_view what)
{
    if (ec) throw error(ec, std::string(call) + ": " + std::string(what));
}

MQTT_CLIENT_DECL void client_settings::username_pw_set(std::string username, std::optional<std::string> password)
{
    check(protocol::validate_mqtt_string(username), "username_pw_set", "invalid user name");
    if (password && password->size() > 65535)
        throw error(errc::string_too_long, "username_pw_set: password longer than 65535 bytes");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->username_ = std::move(username);
    engine_->password_ = std::move(password);
}

MQTT_CLIENT_DECL void client_settings::will_set(std::string_view topic, std::string_view payload, int qos, bool retain)
{
    if (auto e = check_qos(qos, "will_set")) throw error(e.ec, e.what);
    check(protocol::validate_topic_name(topic), "will_set", "invalid topic name");
    if (payload.size() > 65535) throw error(errc::payload_too_large, "will_set: will payload longer than 65535 bytes");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->will_ = protocol::will{std::string(topic), std::string(payload), static_cast<std::uint8_t>(qos), retain};
}

MQTT_CLIENT_DECL void client_settings::will_clear()
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->will_.reset();
}

MQTT_CLIENT_DECL void client_settings::max_inflight_messages_set(int inflight)
{
    if (inflight < 1 || inflight > 65535)
        throw error(errc::invalid_argument, "max_inflight_messages_set: must be 1..65535");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().max_inflight = static_cast<std::size_t>(inflight);
}

MQTT_CLIENT_DECL void client_settings::max_queued_messages_set(std::size_t queue_size)
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().max_queued = queue_size;
}

MQTT_CLIENT_DECL void client_settings::max_queued_bytes_set(std::size_t bytes)
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().max_queued_bytes = bytes;
}

MQTT_CLIENT_DECL void client_settings::queue_policy_set(queue_policy policy)
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().policy = policy;
}

MQTT_CLIENT_DECL void client_settings::reconnect_delay_set(std::chrono::milliseconds min_delay, std::chrono::milliseconds max_delay)
{
    if (min_delay.count() <= 0 || max_delay < min_delay)
        throw error(errc::invalid_argument, "reconnect_delay_set: need 0 < min_delay <= max_delay");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->backoff_.set_bounds(min_delay, max_delay);
}

MQTT_CLIENT_DECL void client_settings::reconnect_on_failure_set(bool enabled)
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().reconnect = enabled;
}

MQTT_CLIENT_DECL void client_settings::reconnect_jitter_seed(std::uint32_t seed)
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->backoff_.seed(seed);
}

MQTT_CLIENT_DECL void client_settings::resubscribe_on_reconnect_set(bool enabled)
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().resubscribe = enabled;
}

MQTT_CLIENT_DECL void client_settings::max_inbound_qos2_set(std::size_t count)
{
    if (count < 1 || count > 65535) throw error(errc::invalid_argument, "max_inbound_qos2_set: must be 1..65535");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().max_inbound_qos2 = count;
}

MQTT_CLIENT_DECL void client_settings::connect_timeout_set(std::chrono::milliseconds timeout)
{
    if (timeout.count() <= 0) throw error(errc::invalid_argument, "connect_timeout_set: must be positive");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->connect_timeout_ = timeout;
}

MQTT_CLIENT_DECL void client_settings::disconnect_timeout_set(std::chrono::milliseconds timeout)
{
    if (timeout.count() <= 0) throw error(errc::invalid_argument, "disconnect_timeout_set: must be positive");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->session_.config().disconnect_timeout = timeout;
}

MQTT_CLIENT_DECL void client_settings::max_packet_size_set(std::size_t bytes)
{
    if (bytes < 2) throw error(errc::invalid_argument, "max_packet_size_set: must be at least 2 bytes");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->max_packet_size_ = bytes;
}

MQTT_CLIENT_DECL std::size_t client_settings::queued_messages() const
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    return engine_->session_.queued();
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
