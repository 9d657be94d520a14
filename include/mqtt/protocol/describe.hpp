#pragma once

// One log line per packet, in paho's wording, so that a paho user's on_log
// reads the same: "PUBLISH (d0, q1, r0, m3), 'house/bulbs/bulb1', ... (3 bytes)".
// Payloads and passwords never appear: only their sizes and presence.

#include <mqtt/protocol/decode_packet.hpp>
#include <mqtt/protocol/packet.hpp>
#include <mqtt/protocol/remaining_length.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

namespace mqtt {
inline namespace v1 {
namespace protocol {

inline std::string describe(const packet& p)
{
    const auto flag = [](bool b) { return b ? "1" : "0"; };
    const auto id_line = [](const char* name, std::uint16_t id) {
        return std::string(name) + " (Mid: " + std::to_string(id) + ")";
    };
    const auto one = [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, connect>) {
            const bool has_will = x.will.has_value();
            return std::string("CONNECT (u") + flag(x.username.has_value()) + ", p" +
                   flag(x.password.has_value()) + ", wr" + flag(has_will && x.will->retain) + ", wq" +
                   std::to_string(has_will ? x.will->qos : 0) + ", wf" + flag(has_will) + ", c" +
                   flag(x.clean_session) + ", k" + std::to_string(x.keepalive) + ") client_id='" + x.client_id +
                   "'";
        } else if constexpr (std::is_same_v<T, connack>) {
            return std::string("CONNACK (") + flag(x.session_present) + ", " +
                   std::to_string(static_cast<int>(x.return_code)) + ")";
        } else if constexpr (std::is_same_v<T, publish>) {
            return std::string("PUBLISH (d") + flag(x.dup) + ", q" + std::to_string(x.qos) + ", r" +
                   flag(x.retain) + ", m" + std::to_string(x.packet_id) + "), '" + x.topic + "', ... (" +
                   std::to_string(x.payload.size()) + " bytes)";
        } else if constexpr (std::is_same_v<T, puback>) {
            return id_line("PUBACK", x.packet_id);
        } else if constexpr (std::is_same_v<T, pubrec>) {
            return id_line("PUBREC", x.packet_id);
        } else if constexpr (std::is_same_v<T, pubrel>) {
            return id_line("PUBREL", x.packet_id);
        } else if constexpr (std::is_same_v<T, pubcomp>) {
            return id_line("PUBCOMP", x.packet_id);
        } else if constexpr (std::is_same_v<T, subscribe>) {
            std::string text = "SUBSCRIBE (d0, m" + std::to_string(x.packet_id) + ") [";
            for (std::size_t i = 0; i < x.subscriptions.size(); ++i) {
                if (i != 0) text += ", ";
                text += "('" + x.subscriptions[i].filter + "', " + std::to_string(x.subscriptions[i].qos) + ")";
            }
            return text + "]";
        } else if constexpr (std::is_same_v<T, suback>) {
            std::string text = "SUBACK (Mid: " + std::to_string(x.packet_id) + ") [";
            for (std::size_t i = 0; i < x.return_codes.size(); ++i) {
                if (i != 0) text += ", ";
                text += std::to_string(x.return_codes[i]);
            }
            return text + "]";
        } else if constexpr (std::is_same_v<T, unsubscribe>) {
            std::string text = "UNSUBSCRIBE (d0, m" + std::to_string(x.packet_id) + ") [";
            for (std::size_t i = 0; i < x.filters.size(); ++i) {
                if (i != 0) text += ", ";
                text += "'" + x.filters[i] + "'";
            }
            return text + "]";
        } else if constexpr (std::is_same_v<T, unsuback>) {
            return id_line("UNSUBACK", x.packet_id);
        } else if constexpr (std::is_same_v<T, pingreq>) {
            return "PINGREQ";
        } else if constexpr (std::is_same_v<T, pingresp>) {
            return "PINGRESP";
        } else {
            static_assert(std::is_same_v<T, disconnect>);
            return "DISCONNECT";
        }
    };
    std::string line;
    protocol::visit(p, [&](const auto& x) { line = one(x); });
    return line;
}

// Calls describe_one(line) for each whole packet in [data, data + size),
// encoded as the client writes them (several may be back to back). Bytes
// that do not decode yield one line saying so; this is for logs, not checks.
template <class F>
void describe_encoded(const std::uint8_t* data, std::size_t size, F&& describe_one)
{
    while (size >= 2) {
        std::size_t remaining = 0;
        std::error_code ec;
        const std::size_t length_bytes = decode_remaining_length(data + 1, size - 1, remaining, ec);
        if (length_bytes == 0 || 1 + length_bytes + remaining > size) break;
        auto p = decode_packet(data[0], data + 1 + length_bytes, remaining, ec);
        describe_one(p ? describe(*p) : "undecodable packet: " + ec.message());
        const std::size_t whole = 1 + length_bytes + remaining;
        data += whole;
        size -= whole;
    }
    if (size != 0) describe_one("incomplete packet (" + std::to_string(size) + " bytes)");
}

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
