#pragma once

// One plain struct per MQTT 3.1.1 control packet. No I/O here.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace protocol {

using byte_buffer = std::vector<std::uint8_t>;

enum class packet_type : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
};

// CONNECT protocol level: 3 is MQTT 3.1 ("MQIsdp"), 4 is MQTT 3.1.1 ("MQTT").
enum class protocol_version : std::uint8_t { v31 = 3, v311 = 4 };

// Largest value the remaining-length field can carry (4 bytes of 7 bits).
constexpr std::size_t max_remaining_length = 268435455;

struct will {
    std::string topic;
    std::string payload;
    std::uint8_t qos = 0;
    bool retain = false;

    friend bool operator==(const will& a, const will& b)
    {
        return a.topic == b.topic && a.payload == b.payload && a.qos == b.qos && a.retain == b.retain;
    }
};

struct connect {
    protocol_version version = protocol_version::v311;
    std::string client_id;
    bool clean_session = true;
    std::uint16_t keepalive = 60;
    std::optional<mqtt::protocol::will> will;
    std::optional<std::string> username;
    std::optional<std::string> password;

    friend bool operator==(const connect& a, const connect& b)
    {
        return a.version == b.version && a.client_id == b.client_id && a.clean_session == b.clean_session &&
               a.keepalive == b.keepalive && a.will == b.will && a.username == b.username &&
               a.password == b.password;
    }
};

// CONNACK return codes (MQTT 3.1.1, 3.2.2.3). Codes 6..255 are reserved;
// they decode as they are, and the session refuses them as unknown.
enum class connack_code : std::uint8_t {
    accepted = 0,
    unacceptable_protocol_version = 1,
    identifier_rejected = 2,
    server_unavailable = 3,
    bad_username_password = 4,
    not_authorized = 5,
};

struct connack {
    bool session_present = false;
    connack_code return_code = connack_code::accepted;

    friend bool operator==(const connack& a, const connack& b)
    {
        return a.session_present == b.session_present && a.return_code == b.return_code;
    }
};

struct publish {
    std::string topic;
    std::string payload;
    std::uint8_t qos = 0;
    bool retain = false;
    bool dup = false;
    std::uint16_t packet_id = 0;  // present on the wire only when qos > 0

    friend bool operator==(const publish& a, const publish& b)
    {
        return a.topic == b.topic && a.payload == b.payload && a.qos == b.qos && a.retain == b.retain &&
               a.dup == b.dup && a.packet_id == b.packet_id;
    }
};

// The four acknowledgements that carry nothing but a packet id.
template <packet_type Type>
struct id_only_packet {
    std::uint16_t packet_id = 0;
    friend bool operator==(const id_only_packet& a, const id_only_packet& b) { return a.packet_id == b.packet_id; }
};
using puback = id_only_packet<packet_type::puback>;
using pubrec = id_only_packet<packet_type::pubrec>;
using pubrel = id_only_packet<packet_type::pubrel>;
using pubcomp = id_only_packet<packet_type::pubcomp>;
using unsuback = id_only_packet<packet_type::unsuback>;

struct subscription {
    std::string filter;
    std::uint8_t qos = 0;
    friend bool operator==(const subscription& a, const subscription& b)
    {
        return a.filter == b.filter && a.qos == b.qos;
    }
};

struct subscribe {
    std::uint16_t packet_id = 0;
    std::vector<subscription> subscriptions;
    friend bool operator==(const subscribe& a, const subscribe& b)
    {
        return a.packet_id == b.packet_id && a.subscriptions == b.subscriptions;
    }
};

// SUBACK return code 0x80 means the subscription failed.
constexpr std::uint8_t suback_failure = 0x80;

struct suback {
    std::uint16_t packet_id = 0;
    std::vector<std::uint8_t> return_codes;
    friend bool operator==(const suback& a, const suback& b)
    {
        return a.packet_id == b.packet_id && a.return_codes == b.return_codes;
    }
};

struct unsubscribe {
    std::uint16_t packet_id = 0;
    std::vector<std::string> filters;
    friend bool operator==(const unsubscribe& a, const unsubscribe& b)
    {
        return a.packet_id == b.packet_id && a.filters == b.filters;
    }
};

template <packet_type Type>
struct empty_packet {
    friend bool operator==(const empty_packet&, const empty_packet&) { return true; }
};
using pingreq = empty_packet<packet_type::pingreq>;
using pingresp = empty_packet<packet_type::pingresp>;
using disconnect = empty_packet<packet_type::disconnect>;

// Alternatives in packet-type order: index() + 1 == the packet type number.
using packet = std::variant<connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback,
                            unsubscribe, unsuback, pingreq, pingresp, disconnect>;

namespace detail {
template <class Packet, class F, std::size_t... I>
void visit_packet(Packet& p, F& f, std::index_sequence<I...>)
{
    const std::size_t i = p.index();
    (void)((i == I ? (f(*std::get_if<I>(&p)), true) : false) || ...);
}
}  // namespace detail

// Calls f with the packet's alternative. What std::visit does, without its
// dispatch tables: they cost every translation unit that includes the client
// a measurable share of its compile time.
template <class F>
void visit(packet& p, F&& f)
{
    detail::visit_packet(p, f, std::make_index_sequence<std::variant_size_v<packet>>{});
}

template <class F>
void visit(const packet& p, F&& f)
{
    detail::visit_packet(p, f, std::make_index_sequence<std::variant_size_v<packet>>{});
}

inline packet_type type_of(const packet& p) noexcept
{
    return static_cast<packet_type>(p.index() + 1);
}

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
