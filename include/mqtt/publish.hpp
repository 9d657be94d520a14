#pragma once

// paho's paho.mqtt.publish: connect, publish, disconnect, in one blocking call.
//
//   mqtt::publish::single("house/bulbs/bulb1", "OFF", 1);
//   mqtt::publish::multiple({{"a/b", "1"}, {"a/c", "2", 2, true}}, {"broker.lan", 1883});
//
// Both return once every message is delivered at its QoS (QoS 0: written to
// the socket; QoS 1/2: acknowledged by the broker) and the connection is
// closed with DISCONNECT. Invalid input throws mqtt::error before anything
// connects; a refused or lost connection throws mqtt::error naming the cause.

#include <mqtt/client.hpp>
#include <mqtt/connect_options.hpp>
#include <mqtt/protocol/topic_rules.hpp>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace mqtt {
inline namespace v1 {

// One message for mqtt::publish::multiple (paho's dict or tuple).
struct outgoing_message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};

namespace publish {

inline void multiple(const std::vector<outgoing_message>& messages, const connect_options& options = {})
{
    for (const auto& m : messages) {
        if (m.qos < 0 || m.qos > 2)
            throw error(errc::invalid_qos, "publish::multiple: QoS " + std::to_string(m.qos) + " for \"" + m.topic + "\"");
        if (auto cause = protocol::validate_topic_name(m.topic))
            throw error(errc::invalid_topic,
                        "publish::multiple: \"" + m.topic + "\" is not a valid topic name (" + cause.message() + ")");
        if (2 + m.topic.size() + 2 + m.payload.size() > protocol::max_remaining_length)
            throw error(errc::payload_too_large, "publish::multiple: payload of " + std::to_string(m.payload.size()) +
                                                     " bytes for \"" + m.topic + "\"");
    }
    client c(options.client_id, options.clean_session, options.protocol);
    detail::connect_oneshot(c, options);
    c.loop_start();

    // A full outgoing buffer is back-pressure here, not an error: wait for
    // the oldest message under way, then retry.
    std::deque<std::pair<message_info, const outgoing_message*>> under_way;
    std::error_code failure;
    std::string failed_topic;
    const auto settle_oldest = [&] {
        const auto rc = under_way.front().first.wait_for_publish();
        if (rc && !failure) {
            failure = rc;
            failed_topic = under_way.front().second->topic;
        }
        under_way.pop_front();
    };
    for (const auto& m : messages) {
        if (failure) break;
        for (;;) {
            auto info = c.publish(m.topic, m.payload, m.qos, m.retain);
            const bool full = info.rc() == errc::queue_full;
            if (!full || under_way.empty()) {
                under_way.emplace_back(std::move(info), &m);
                break;
            }
            settle_oldest();
            if (failure) break;
        }
    }
    while (!under_way.empty()) settle_oldest();
    c.disconnect();
    c.loop_stop();
    if (failure) throw error(failure, "publish to \"" + failed_topic + "\" failed");
}

inline void single(std::string_view topic, std::string_view payload = {}, int qos = 0, bool retain = false,
                   const connect_options& options = {})
{
    multiple({outgoing_message{std::string(topic), std::string(payload), qos, retain}}, options);
}

}  // namespace publish
}  // namespace v1
}  // namespace mqtt
