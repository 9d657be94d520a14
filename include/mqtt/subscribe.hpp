#pragma once

// paho's paho.mqtt.subscribe: connect, subscribe, receive, disconnect, in one
// blocking call.
//
//   auto messages = mqtt::subscribe::simple("house/#", 1, 3);   // the next 3
//   mqtt::subscribe::callback([](mqtt::client& c, const mqtt::message& m) {
//       std::cout << m.topic << " " << m.payload << "\n";
//       if (m.payload == "stop") c.disconnect();   // ends the call
//   }, "house/#");
//
// Invalid input throws mqtt::error before anything connects; a refused
// connection or subscription, or a lost connection, throws mqtt::error naming
// the cause. An exception thrown by the callback ends the call and is
// rethrown to its caller.

#include <mqtt/client.hpp>
#include <mqtt/connect_options.hpp>
#include <mqtt/protocol/topic_rules.hpp>

#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace subscribe {

// Runs `on_message` (on this thread) for each message matching `topics`
// until it calls client.disconnect() on the client it is given.
inline void callback(std::function<void(client&, const message&)> on_message, const std::vector<std::string>& topics,
                     int qos = 0, const connect_options& options = {})
{
    if (!on_message) throw error(errc::invalid_argument, "subscribe::callback: no callback");
    if (topics.empty()) throw error(errc::invalid_argument, "subscribe::callback: no topics");
    if (qos < 0 || qos > 2) throw error(errc::invalid_qos, "subscribe::callback: QoS " + std::to_string(qos));
    for (const auto& t : topics) {
        if (auto cause = protocol::validate_topic_filter(t))
            throw error(errc::invalid_topic_filter,
                        "subscribe::callback: \"" + t + "\" is not a valid topic filter (" + cause.message() + ")");
    }

    client c(options.client_id, options.clean_session, options.protocol);
    std::exception_ptr thrown;
    std::error_code refused;
    c.on_message = [&](client& self, const message& m) {
        if (thrown || refused) return;  // already stopping
        try {
            on_message(self, m);
        } catch (...) {
            thrown = std::current_exception();
            self.disconnect();
        }
    };
    c.on_subscribe = [&](client& self, int, const std::vector<int>& granted_qos) {
        for (int g : granted_qos) {
            if (g == 0x80) {
                refused = errc::subscription_refused;
                self.disconnect();
            }
        }
    };
    detail::connect_oneshot(c, options);
    std::vector<std::pair<std::string, int>> filters;
    for (const auto& t : topics) filters.emplace_back(t, qos);
    if (auto [rc, mid] = c.subscribe(filters); rc) throw error(rc, "subscribe::callback: subscribe failed");
    const auto ended = c.loop_forever();
    if (thrown) std::rethrow_exception(thrown);
    if (refused) throw error(refused, "subscribe::callback: " + topics.front() + (topics.size() > 1 ? " ..." : ""));
    if (ended) throw error(ended, "subscribe::callback: connection to " + options.hostname + ":" +
                                      std::to_string(options.port) + " ended");
}

inline void callback(std::function<void(client&, const message&)> on_message, std::string_view topic, int qos = 0,
                     const connect_options& options = {})
{
    callback(std::move(on_message), std::vector<std::string>{std::string(topic)}, qos, options);
}

// Returns the next `msg_count` messages matching `topics`. With retained
// false, messages the broker sends as retained are skipped and not counted.
inline std::vector<message> simple(const std::vector<std::string>& topics, int qos = 0, int msg_count = 1,
                                   bool retained = true, const connect_options& options = {})
{
    if (msg_count < 1)
        throw error(errc::invalid_argument, "subscribe::simple: msg_count " + std::to_string(msg_count) + " < 1");
    std::vector<message> received;
    received.reserve(static_cast<std::size_t>(msg_count));
    callback(
        [&](client& c, const message& m) {
            if (m.retain && !retained) return;
            if (received.size() == static_cast<std::size_t>(msg_count)) return;  // on the way out
            received.push_back(m);
            if (received.size() == static_cast<std::size_t>(msg_count)) c.disconnect();
        },
        topics, qos, options);
    return received;
}

inline std::vector<message> simple(std::string_view topic, int qos = 0, int msg_count = 1, bool retained = true,
                                   const connect_options& options = {})
{
    return simple(std::vector<std::string>{std::string(topic)}, qos, msg_count, retained, options);
}

}  // namespace subscribe
}  // namespace v1
}  // namespace mqtt
