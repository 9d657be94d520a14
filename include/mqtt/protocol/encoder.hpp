#pragma once

// Packets -> bytes (MQTT 3.1.1), appended to a caller's buffer.
//
// The encoder trusts its input: the client validates topics, strings, QoS
// and sizes before it encodes (so the checks are not paid twice on the hot
// path). Preconditions, for every packet:
//   - strings and binary fields (will payload, password) are at most 65535
//     bytes, topics/filters are valid (see topic_rules.hpp);
//   - QoS values are 0, 1 or 2; packet ids are non-zero where the packet
//     carries one (PUBLISH with QoS > 0, acks, SUBSCRIBE, UNSUBSCRIBE);
//   - the remaining length is at most max_remaining_length;
//   - CONNECT: a password requires a username (3.1.1 has no flag for a
//     password alone); SUBSCRIBE/UNSUBSCRIBE list at least one filter.
// Broken preconditions give bytes a peer will reject, never memory errors:
// each packet's size is computed first, reserved once, and exactly that
// many bytes are appended (asserted in debug builds).

#include <mqtt/protocol/packet.hpp>
#include <mqtt/protocol/remaining_length.hpp>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace mqtt {
inline namespace v1 {
namespace protocol {

namespace detail {

// At most one growth per packet, and geometric so that appending many
// packets to one buffer stays amortised O(1) (an exact reserve would
// reallocate on every append).
inline void reserve_for_append(byte_buffer& out, std::size_t extra)
{
    const std::size_t needed = out.size() + extra;
    if (needed > out.capacity()) out.reserve(std::max(needed, out.capacity() * 2));
}

inline void put_u16(byte_buffer& out, std::uint16_t value)
{
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value & 0xFFu));
}

inline void put_bytes(byte_buffer& out, std::string_view bytes)
{
    const auto* first = reinterpret_cast<const std::uint8_t*>(bytes.data());
    out.insert(out.end(), first, first + bytes.size());
}

// A length-prefixed field: MQTT strings and binary data alike.
inline void put_string(byte_buffer& out, std::string_view s)
{
    put_u16(out, static_cast<std::uint16_t>(s.size()));
    put_bytes(out, s);
}

constexpr std::size_t string_size(std::string_view s) noexcept
{
    return 2 + s.size();
}

// Reserves the whole packet and writes its fixed header. Returns the size
// `out` must have once the caller appended exactly `remaining` bytes.
inline std::size_t begin_packet(byte_buffer& out, std::uint8_t first_byte, std::size_t remaining)
{
    const std::size_t total = 1 + remaining_length_size(remaining) + remaining;
    reserve_for_append(out, total);
    const std::size_t end = out.size() + total;
    out.push_back(first_byte);
    encode_remaining_length(remaining, out);
    return end;
}

inline void end_packet([[maybe_unused]] const byte_buffer& out, [[maybe_unused]] std::size_t expected_size) noexcept
{
    assert(out.size() == expected_size && "encoder size computation out of step with what it wrote");
}

inline void encode_id_only(std::uint8_t first_byte, std::uint16_t packet_id, byte_buffer& out)
{
    const auto end = begin_packet(out, first_byte, 2);
    put_u16(out, packet_id);
    end_packet(out, end);
}

inline void encode_empty(std::uint8_t first_byte, byte_buffer& out)
{
    const auto end = begin_packet(out, first_byte, 0);
    end_packet(out, end);
}

}  // namespace detail

// The DUP bit of a PUBLISH fixed header.
constexpr std::uint8_t publish_dup_flag = 0x08;

// Marks an already encoded PUBLISH (its first byte) as a re-delivery, so the
// client can resend a stored packet without re-encoding it. Only for QoS 1/2:
// DUP must stay 0 on QoS 0.
constexpr void set_dup_flag(std::uint8_t& publish_first_byte) noexcept
{
    publish_first_byte = static_cast<std::uint8_t>(publish_first_byte | publish_dup_flag);
}

inline void encode(const connect& p, byte_buffer& out)
{
    const bool v31 = p.version == protocol_version::v31;
    const std::string_view protocol_name = v31 ? "MQIsdp" : "MQTT";

    // name, level, flags, keepalive, then the payload fields in spec order
    std::size_t remaining = detail::string_size(protocol_name) + 1 + 1 + 2 + detail::string_size(p.client_id);
    std::uint8_t flags = p.clean_session ? 0x02 : 0x00;
    if (p.will) {
        remaining += detail::string_size(p.will->topic) + detail::string_size(p.will->payload);
        flags = static_cast<std::uint8_t>(flags | 0x04 | ((p.will->qos & 0x03u) << 3) |
                                          (p.will->retain ? 0x20 : 0x00));
    }
    if (p.username) {
        remaining += detail::string_size(*p.username);
        flags = static_cast<std::uint8_t>(flags | 0x80);
    }
    if (p.password) {
        remaining += detail::string_size(*p.password);
        flags = static_cast<std::uint8_t>(flags | 0x40);
    }

    const auto end = detail::begin_packet(out, 0x10, remaining);
    detail::put_string(out, protocol_name);
    out.push_back(static_cast<std::uint8_t>(p.version));
    out.push_back(flags);
    detail::put_u16(out, p.keepalive);
    detail::put_string(out, p.client_id);
    if (p.will) {
        detail::put_string(out, p.will->topic);
        detail::put_string(out, p.will->payload);
    }
    if (p.username) detail::put_string(out, *p.username);
    if (p.password) detail::put_string(out, *p.password);
    detail::end_packet(out, end);
}

inline void encode(const connack& p, byte_buffer& out)
{
    const auto end = detail::begin_packet(out, 0x20, 2);
    out.push_back(p.session_present ? 0x01 : 0x00);
    out.push_back(static_cast<std::uint8_t>(p.return_code));
    detail::end_packet(out, end);
}

// The client's hot path: no packet struct, no copy of the payload besides
// the one into `out`. `packet_id` is written only when qos > 0.
inline void encode_publish(std::string_view topic, std::string_view payload, std::uint8_t qos, bool retain, bool dup,
                           std::uint16_t packet_id, byte_buffer& out)
{
    const std::size_t remaining = detail::string_size(topic) + (qos > 0 ? 2 : 0) + payload.size();
    const auto first_byte = static_cast<std::uint8_t>(0x30u | (dup ? publish_dup_flag : 0u) | ((qos & 0x03u) << 1) |
                                                      (retain ? 0x01u : 0u));
    const auto end = detail::begin_packet(out, first_byte, remaining);
    detail::put_string(out, topic);
    if (qos > 0) detail::put_u16(out, packet_id);
    detail::put_bytes(out, payload);
    detail::end_packet(out, end);
}

inline void encode(const publish& p, byte_buffer& out)
{
    encode_publish(p.topic, p.payload, p.qos, p.retain, p.dup, p.packet_id, out);
}

inline void encode(const puback& p, byte_buffer& out)
{
    detail::encode_id_only(0x40, p.packet_id, out);
}

inline void encode(const pubrec& p, byte_buffer& out)
{
    detail::encode_id_only(0x50, p.packet_id, out);
}

// PUBREL carries the reserved flags 0b0010 (3.6.1).
inline void encode(const pubrel& p, byte_buffer& out)
{
    detail::encode_id_only(0x62, p.packet_id, out);
}

inline void encode(const pubcomp& p, byte_buffer& out)
{
    detail::encode_id_only(0x70, p.packet_id, out);
}

// SUBSCRIBE carries the reserved flags 0b0010 (3.8.1).
inline void encode(const subscribe& p, byte_buffer& out)
{
    std::size_t remaining = 2;
    for (const auto& s : p.subscriptions) remaining += detail::string_size(s.filter) + 1;

    const auto end = detail::begin_packet(out, 0x82, remaining);
    detail::put_u16(out, p.packet_id);
    for (const auto& s : p.subscriptions) {
        detail::put_string(out, s.filter);
        out.push_back(s.qos);
    }
    detail::end_packet(out, end);
}

inline void encode(const suback& p, byte_buffer& out)
{
    const auto end = detail::begin_packet(out, 0x90, 2 + p.return_codes.size());
    detail::put_u16(out, p.packet_id);
    out.insert(out.end(), p.return_codes.begin(), p.return_codes.end());
    detail::end_packet(out, end);
}

// UNSUBSCRIBE carries the reserved flags 0b0010 (3.10.1).
inline void encode(const unsubscribe& p, byte_buffer& out)
{
    std::size_t remaining = 2;
    for (const auto& f : p.filters) remaining += detail::string_size(f);

    const auto end = detail::begin_packet(out, 0xA2, remaining);
    detail::put_u16(out, p.packet_id);
    for (const auto& f : p.filters) detail::put_string(out, f);
    detail::end_packet(out, end);
}

inline void encode(const unsuback& p, byte_buffer& out)
{
    detail::encode_id_only(0xB0, p.packet_id, out);
}

inline void encode(const pingreq&, byte_buffer& out)
{
    detail::encode_empty(0xC0, out);
}

inline void encode(const pingresp&, byte_buffer& out)
{
    detail::encode_empty(0xD0, out);
}

inline void encode(const disconnect&, byte_buffer& out)
{
    detail::encode_empty(0xE0, out);
}

inline void encode(const packet& any, byte_buffer& out)
{
    protocol::visit(any, [&out](const auto& p) { encode(p, out); });
}

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
