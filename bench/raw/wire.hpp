#pragma once

// Hand-encoded MQTT 3.1.1 packets for the raw reference client: only what a
// benchmark connection needs, no validation.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench::wire {

using bytes = std::vector<std::uint8_t>;

enum packet_type : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    disconnect = 14,
};

inline void put_remaining_length(bytes& out, std::size_t n)
{
    do {
        std::uint8_t digit = n % 128;
        n /= 128;
        if (n > 0) digit |= 0x80;
        out.push_back(digit);
    } while (n > 0);
}

inline void put_u16(bytes& out, std::uint16_t v)
{
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

inline void put_string(bytes& out, std::string_view s)
{
    put_u16(out, static_cast<std::uint16_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
}

// CONNECT, clean session, no will, no credentials.
inline bytes encode_connect(std::string_view client_id, std::uint16_t keepalive)
{
    bytes body;
    put_string(body, "MQTT");
    body.push_back(4);  // protocol level 3.1.1
    body.push_back(0x02);  // clean session
    put_u16(body, keepalive);
    put_string(body, client_id);
    bytes out{connect << 4};
    put_remaining_length(out, body.size());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

inline bytes encode_subscribe(std::uint16_t packet_id, std::string_view filter, int qos)
{
    bytes body;
    put_u16(body, packet_id);
    put_string(body, filter);
    body.push_back(static_cast<std::uint8_t>(qos));
    bytes out{subscribe << 4 | 0x02};
    put_remaining_length(out, body.size());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

// The PUBLISH header up to and including the packet id (QoS 1/2); the
// payload follows it on the wire. packet_id_offset() finds the id to patch.
inline bytes encode_publish_header(std::string_view topic, std::size_t payload_size, int qos)
{
    const std::size_t remaining = 2 + topic.size() + (qos > 0 ? 2 : 0) + payload_size;
    bytes out{static_cast<std::uint8_t>(publish << 4 | qos << 1)};
    put_remaining_length(out, remaining);
    put_string(out, topic);
    if (qos > 0) put_u16(out, 0);
    return out;
}

inline void patch_packet_id(bytes& publish_header, std::uint16_t packet_id)
{
    publish_header[publish_header.size() - 2] = static_cast<std::uint8_t>(packet_id >> 8);
    publish_header[publish_header.size() - 1] = static_cast<std::uint8_t>(packet_id & 0xff);
}

// PUBACK, PUBREC, PUBREL (flags 0x2) or PUBCOMP, appended to `out`.
inline void append_ack(bytes& out, packet_type type, std::uint16_t packet_id)
{
    out.push_back(static_cast<std::uint8_t>(type << 4 | (type == pubrel ? 0x02 : 0x00)));
    out.push_back(2);
    put_u16(out, packet_id);
}

inline const bytes& encoded_disconnect()
{
    static const bytes packet{disconnect << 4, 0};
    return packet;
}

}  // namespace bench::wire
