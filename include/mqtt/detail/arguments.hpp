#pragma once

// Argument checks shared by both faces: mqtt::client throws what they find,
// async_client completes the operation with it.

#include <mqtt/error.hpp>
#include <mqtt/protocol/encoder.hpp>
#include <mqtt/protocol/topic_rules.hpp>
#include <mqtt/server.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace detail {

struct argument_error {
    std::error_code ec;
    std::string what;  // "publish: invalid topic name"
    explicit operator bool() const noexcept { return static_cast<bool>(ec); }
};

inline argument_error check_qos(int qos, const char* call)
{
    if (qos >= 0 && qos <= 2) return {};
    return {make_error_code(errc::invalid_qos), std::string(call) + ": QoS " + std::to_string(qos) + " is not 0, 1 or 2"};
}

inline argument_error check_publish(std::string_view topic, std::string_view payload, int qos)
{
    if (auto e = check_qos(qos, "publish")) return e;
    if (auto ec = protocol::validate_topic_name(topic)) return {ec, "publish: invalid topic name"};
    const std::size_t remaining = 2 + topic.size() + (qos > 0 ? 2 : 0) + payload.size();
    if (remaining > protocol::max_remaining_length)
        return {make_error_code(errc::payload_too_large),
                "publish: payload of " + std::to_string(payload.size()) + " bytes"};
    return {};
}

inline argument_error check_subscribe(const std::vector<std::pair<std::string, int>>& topics)
{
    if (topics.empty()) return {make_error_code(errc::invalid_argument), "subscribe: no topic filter given"};
    std::size_t size = 2;
    for (const auto& [filter, qos] : topics) {
        if (auto e = check_qos(qos, "subscribe")) return e;
        if (auto ec = protocol::validate_topic_filter(filter))
            return {ec, "subscribe: invalid topic filter '" + filter + "'"};
        size += 3 + filter.size();
    }
    if (size > protocol::max_remaining_length)
        return {make_error_code(errc::payload_too_large), "subscribe: too many topic filters for one packet"};
    return {};
}

inline argument_error check_unsubscribe(const std::vector<std::string>& topics)
{
    if (topics.empty()) return {make_error_code(errc::invalid_argument), "unsubscribe: no topic filter given"};
    std::size_t size = 2;
    for (const auto& filter : topics) {
        if (auto ec = protocol::validate_topic_filter(filter))
            return {ec, "unsubscribe: invalid topic filter '" + filter + "'"};
        size += 2 + filter.size();
    }
    if (size > protocol::max_remaining_length)
        return {make_error_code(errc::payload_too_large), "unsubscribe: too many topic filters for one packet"};
    return {};
}

inline argument_error check_servers(const std::vector<server>& servers, int keepalive)
{
    if (servers.empty()) return {make_error_code(errc::invalid_argument), "connect: no server given"};
    for (const auto& sv : servers)
        if (sv.host.empty()) return {make_error_code(errc::invalid_argument), "connect: empty host name"};
    if (keepalive < 0 || keepalive > 65535)
        return {make_error_code(errc::invalid_argument), "connect: keepalive must be 0..65535 seconds"};
    return {};
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
