#pragma once

// One thing the user asked the session to send: a PUBLISH, SUBSCRIBE or
// UNSUBSCRIBE, encoded once. It carries no wire packet id while queued; the
// id is written in when it is sent and held until the ack (or the session's
// end), so no two live operations ever share one.

#include <mqtt/protocol/packet.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace session {

enum class request_kind : std::uint8_t { publish, subscribe, unsubscribe };

template <class Token>
struct request {
    protocol::byte_buffer bytes;  // the packet as encoded, packet id 0 until sent
    Token token{};  // publish: what completes when it is done
    int mid = 0;  // the client's own message number, paho's mid
    std::size_t id_offset = 0;  // where the packet id goes (none for QoS 0)
    std::uint16_t packet_id = 0;  // the wire id while sent and unacknowledged
    std::uint8_t qos = 0;
    request_kind kind = request_kind::publish;
    bool automatic = false;  // a resubscription the session made itself
    bool resend = false;  // to be written again on this connection
    std::vector<protocol::subscription> topics;  // SUBSCRIBE / UNSUBSCRIBE filters
};

// Offset of the variable header: after the type byte and 1-4 length bytes.
inline std::size_t variable_header_offset(const protocol::byte_buffer& packet)
{
    std::size_t i = 1;
    while (packet[i] & 0x80) ++i;
    return i + 1;
}

// Where a PUBLISH's packet id goes: after the topic's length and bytes.
inline std::size_t publish_id_offset(const protocol::byte_buffer& packet)
{
    const std::size_t topic = variable_header_offset(packet);
    return topic + 2 + ((std::size_t{packet[topic]} << 8) | packet[topic + 1]);
}

inline void write_packet_id(protocol::byte_buffer& packet, std::size_t offset, std::uint16_t id)
{
    packet[offset] = static_cast<std::uint8_t>(id >> 8);
    packet[offset + 1] = static_cast<std::uint8_t>(id & 0xff);
}

}  // namespace session
}  // namespace v1
}  // namespace mqtt
