#pragma once

// One complete packet -> packet struct, with a precise error for every way
// the bytes can break MQTT 3.1.1. The incremental framing lives in
// decoder.hpp; this is the part that reads fields.

#include <mqtt/error.hpp>
#include <mqtt/protocol/packet.hpp>
#include <mqtt/protocol/topic_rules.hpp>
#include <mqtt/protocol/utf8.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

namespace mqtt {
inline namespace v1 {
namespace protocol {

namespace detail {

// Reads fields front to back; every read fails with truncated_packet rather
// than running past the end.
class reader {
public:
    reader(const std::uint8_t* data, std::size_t size) noexcept : pos_(data), end_(data + size) {}

    std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - pos_); }

    bool read_u8(std::uint8_t& value, std::error_code& ec) noexcept
    {
        if (left() < 1) return truncated(ec);
        value = *pos_++;
        return true;
    }

    bool read_u16(std::uint16_t& value, std::error_code& ec) noexcept
    {
        if (left() < 2) return truncated(ec);
        value = static_cast<std::uint16_t>((pos_[0] << 8) | pos_[1]);
        pos_ += 2;
        return true;
    }

    bool read_packet_id(std::uint16_t& id, std::error_code& ec) noexcept
    {
        if (!read_u16(id, ec)) return false;
        if (id == 0) {
            ec = errc::packet_id_zero;
            return false;
        }
        return true;
    }

    // A length-prefixed field, unchecked: binary data, or a string the
    // caller validates with a more specific rule.
    bool read_binary(std::string_view& value, std::error_code& ec) noexcept
    {
        std::uint16_t length = 0;
        if (!read_u16(length, ec)) return false;
        if (left() < length) return truncated(ec);
        value = std::string_view(reinterpret_cast<const char*>(pos_), length);
        pos_ += length;
        return true;
    }

    bool read_string(std::string_view& value, std::error_code& ec) noexcept
    {
        if (!read_binary(value, ec)) return false;
        ec = validate_mqtt_string(value);
        return !ec;
    }

    // Everything up to the end: the PUBLISH payload.
    std::string_view read_rest() noexcept
    {
        const std::string_view rest(reinterpret_cast<const char*>(pos_), left());
        pos_ = end_;
        return rest;
    }

    bool finish(std::error_code& ec) noexcept
    {
        if (left() == 0) return true;
        ec = errc::trailing_bytes;
        return false;
    }

private:
    static bool truncated(std::error_code& ec) noexcept
    {
        ec = errc::truncated_packet;
        return false;
    }

    const std::uint8_t* pos_;
    const std::uint8_t* end_;
};

inline unsigned packet_type_number(std::uint8_t first_byte) noexcept
{
    return first_byte >> 4u;
}

// Errors visible in the first byte alone, so the decoder can refuse a
// stream before reading any further.
inline std::error_code check_first_byte(std::uint8_t first_byte) noexcept
{
    const unsigned type = packet_type_number(first_byte);
    const unsigned flags = first_byte & 0x0Fu;
    if (type == 0 || type == 15) return errc::reserved_packet_type;
    switch (static_cast<packet_type>(type)) {
    case packet_type::publish:
        // DUP, QoS and RETAIN may take any value, except QoS 3.
        return ((flags >> 1) & 0x03u) == 3 ? make_error_code(errc::invalid_qos) : std::error_code{};
    case packet_type::pubrel:
    case packet_type::subscribe:
    case packet_type::unsubscribe:
        return flags == 0x02 ? std::error_code{} : make_error_code(errc::invalid_fixed_header_flags);
    default:
        return flags == 0 ? std::error_code{} : make_error_code(errc::invalid_fixed_header_flags);
    }
}

// Packets whose size is fixed by their type; checked as soon as the
// remaining length is known. Precondition: check_first_byte passed.
inline std::error_code check_remaining_length(std::uint8_t first_byte, std::size_t remaining) noexcept
{
    switch (static_cast<packet_type>(packet_type_number(first_byte))) {
    case packet_type::connack:
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubrel:
    case packet_type::pubcomp:
    case packet_type::unsuback:
        return remaining == 2 ? std::error_code{} : make_error_code(errc::invalid_remaining_length);
    case packet_type::pingreq:
    case packet_type::pingresp:
    case packet_type::disconnect:
        return remaining == 0 ? std::error_code{} : make_error_code(errc::invalid_remaining_length);
    default:
        return {};
    }
}

inline std::optional<packet> decode_connect(reader& r, std::error_code& ec)
{
    std::string_view name;
    std::uint8_t level = 0;
    if (!r.read_binary(name, ec) || !r.read_u8(level, ec)) return std::nullopt;

    connect c;
    if (name == "MQTT") {
        c.version = protocol_version::v311;
    } else if (name == "MQIsdp") {
        c.version = protocol_version::v31;
    } else {
        ec = errc::invalid_protocol_name;
        return std::nullopt;
    }
    if (level != static_cast<std::uint8_t>(c.version)) {
        ec = errc::unsupported_protocol_level;
        return std::nullopt;
    }

    std::uint8_t flags = 0;
    if (!r.read_u8(flags, ec)) return std::nullopt;
    const bool has_will = (flags & 0x04u) != 0;
    const auto will_qos = static_cast<std::uint8_t>((flags >> 3) & 0x03u);
    const bool will_retain = (flags & 0x20u) != 0;
    const bool has_password = (flags & 0x40u) != 0;
    const bool has_username = (flags & 0x80u) != 0;
    const bool reserved_bit = (flags & 0x01u) != 0;
    if (reserved_bit || will_qos == 3 || (!has_will && (will_qos != 0 || will_retain)) ||
        (has_password && !has_username)) {
        ec = errc::invalid_connect_flags;
        return std::nullopt;
    }
    c.clean_session = (flags & 0x02u) != 0;

    std::string_view client_id;
    if (!r.read_u16(c.keepalive, ec) || !r.read_string(client_id, ec)) return std::nullopt;
    c.client_id.assign(client_id);

    if (has_will) {
        std::string_view topic;
        std::string_view payload;
        if (!r.read_binary(topic, ec)) return std::nullopt;
        if ((ec = validate_topic_name(topic))) return std::nullopt;
        if (!r.read_binary(payload, ec)) return std::nullopt;
        c.will = will{std::string(topic), std::string(payload), will_qos, will_retain};
    }
    if (has_username) {
        std::string_view username;
        if (!r.read_string(username, ec)) return std::nullopt;
        c.username.emplace(username);
    }
    if (has_password) {
        std::string_view password;  // binary data, not a string
        if (!r.read_binary(password, ec)) return std::nullopt;
        c.password.emplace(password);
    }
    if (!r.finish(ec)) return std::nullopt;
    return packet{std::move(c)};
}

inline std::optional<packet> decode_connack(reader& r, std::error_code& ec)
{
    std::uint8_t flags = 0;
    std::uint8_t code = 0;
    if (!r.read_u8(flags, ec) || !r.read_u8(code, ec)) return std::nullopt;
    if ((flags & 0xFEu) != 0) {
        ec = errc::invalid_connack_flags;
        return std::nullopt;
    }
    if (!r.finish(ec)) return std::nullopt;
    return packet{connack{(flags & 0x01u) != 0, static_cast<connack_code>(code)}};
}

inline std::optional<packet> decode_publish(std::uint8_t first_byte, reader& r, std::error_code& ec)
{
    publish p;
    p.dup = (first_byte & 0x08u) != 0;
    p.qos = static_cast<std::uint8_t>((first_byte >> 1) & 0x03u);
    p.retain = (first_byte & 0x01u) != 0;

    std::string_view topic;
    if (!r.read_binary(topic, ec)) return std::nullopt;
    if ((ec = validate_topic_name(topic))) return std::nullopt;
    if (p.qos > 0 && !r.read_packet_id(p.packet_id, ec)) return std::nullopt;
    p.topic.assign(topic);
    p.payload.assign(r.read_rest());  // bytes, may hold anything
    return packet{std::move(p)};
}

template <typename Ack>
std::optional<packet> decode_id_only(reader& r, std::error_code& ec)
{
    Ack ack;
    if (!r.read_packet_id(ack.packet_id, ec) || !r.finish(ec)) return std::nullopt;
    return packet{ack};
}

inline std::optional<packet> decode_subscribe(reader& r, std::error_code& ec)
{
    subscribe s;
    if (!r.read_packet_id(s.packet_id, ec)) return std::nullopt;
    while (r.left() > 0) {
        std::string_view filter;
        std::uint8_t options = 0;
        if (!r.read_binary(filter, ec)) return std::nullopt;
        if ((ec = validate_topic_filter(filter))) return std::nullopt;
        if (!r.read_u8(options, ec)) return std::nullopt;
        if ((options & 0xFCu) != 0) {
            ec = errc::invalid_subscribe_options;
            return std::nullopt;
        }
        if (options == 3) {
            ec = errc::invalid_qos;
            return std::nullopt;
        }
        s.subscriptions.push_back(subscription{std::string(filter), options});
    }
    if (s.subscriptions.empty()) {
        ec = errc::empty_subscription_list;
        return std::nullopt;
    }
    return packet{std::move(s)};
}

inline std::optional<packet> decode_suback(reader& r, std::error_code& ec)
{
    suback s;
    if (!r.read_packet_id(s.packet_id, ec)) return std::nullopt;
    const auto codes = r.read_rest();
    s.return_codes.reserve(codes.size());
    for (const char c : codes) {
        const auto code = static_cast<std::uint8_t>(c);
        if (code > 2 && code != suback_failure) {
            ec = errc::invalid_suback_return_code;
            return std::nullopt;
        }
        s.return_codes.push_back(code);
    }
    return packet{std::move(s)};
}

inline std::optional<packet> decode_unsubscribe(reader& r, std::error_code& ec)
{
    unsubscribe u;
    if (!r.read_packet_id(u.packet_id, ec)) return std::nullopt;
    while (r.left() > 0) {
        std::string_view filter;
        if (!r.read_binary(filter, ec)) return std::nullopt;
        if ((ec = validate_topic_filter(filter))) return std::nullopt;
        u.filters.emplace_back(filter);
    }
    if (u.filters.empty()) {
        ec = errc::empty_subscription_list;
        return std::nullopt;
    }
    return packet{std::move(u)};
}

}  // namespace detail

// Decodes one complete packet: its first byte and its `size` body bytes (the
// remaining length). Returns the packet, or nullopt with ec set to the
// precise cause. Checks everything the incremental decoder checks, so it can
// be used on its own on already framed data.
inline std::optional<packet> decode_packet(std::uint8_t first_byte, const std::uint8_t* body, std::size_t size,
                                           std::error_code& ec)
{
    ec.clear();
    if ((ec = detail::check_first_byte(first_byte))) return std::nullopt;
    if ((ec = detail::check_remaining_length(first_byte, size))) return std::nullopt;
    if (size > max_remaining_length) {
        ec = errc::packet_too_large;
        return std::nullopt;
    }

    detail::reader r(body, size);
    switch (static_cast<packet_type>(detail::packet_type_number(first_byte))) {
    case packet_type::connect: return detail::decode_connect(r, ec);
    case packet_type::connack: return detail::decode_connack(r, ec);
    case packet_type::publish: return detail::decode_publish(first_byte, r, ec);
    case packet_type::puback: return detail::decode_id_only<puback>(r, ec);
    case packet_type::pubrec: return detail::decode_id_only<pubrec>(r, ec);
    case packet_type::pubrel: return detail::decode_id_only<pubrel>(r, ec);
    case packet_type::pubcomp: return detail::decode_id_only<pubcomp>(r, ec);
    case packet_type::subscribe: return detail::decode_subscribe(r, ec);
    case packet_type::suback: return detail::decode_suback(r, ec);
    case packet_type::unsubscribe: return detail::decode_unsubscribe(r, ec);
    case packet_type::unsuback: return detail::decode_id_only<unsuback>(r, ec);
    case packet_type::pingreq: return packet{pingreq{}};
    case packet_type::pingresp: return packet{pingresp{}};
    case packet_type::disconnect: return packet{disconnect{}};
    }
    ec = errc::reserved_packet_type;  // unreachable: check_first_byte ruled these out
    return std::nullopt;
}

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
