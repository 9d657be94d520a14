#pragma once

// Shared helpers for the codec tests: encode to a fresh buffer, feed a
// decoder in chunks, and readable failure messages.

#include <mqtt/error.hpp>
#include <mqtt/protocol/decoder.hpp>
#include <mqtt/protocol/encoder.hpp>
#include <mqtt/protocol/packet.hpp>

#include <support/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace protocol_test {

using mqtt::protocol::byte_buffer;
using mqtt::protocol::packet;

inline byte_buffer encoded(const packet& p)
{
    byte_buffer out;
    mqtt::protocol::encode(p, out);
    return out;
}

// Builds bytes from a string literal that may contain NULs: bytes("a\0b", 3).
inline byte_buffer bytes(const char* data, std::size_t size)
{
    return byte_buffer(reinterpret_cast<const std::uint8_t*>(data), reinterpret_cast<const std::uint8_t*>(data) + size);
}

struct decode_result {
    std::vector<packet> packets;
    std::error_code ec;
    std::size_t consumed = 0;
};

// Feeds `input` to a fresh decoder in chunks of `chunk` bytes (0: all at
// once), the way the client's read loop does, stopping at the first error.
inline decode_result decode_all(const byte_buffer& input, std::size_t chunk = 0,
                                std::size_t max_packet_size = mqtt::protocol::max_remaining_length + 5)
{
    mqtt::protocol::decoder d(max_packet_size);
    decode_result result;
    std::size_t offset = 0;
    while (offset < input.size()) {
        const std::size_t piece = chunk == 0 ? input.size() - offset : std::min(chunk, input.size() - offset);
        const std::uint8_t* p = input.data() + offset;
        std::size_t left = piece;
        while (left > 0) {
            std::optional<packet> out;
            const std::size_t n = d.feed(p, left, out, result.ec);
            p += n;
            left -= n;
            result.consumed += n;
            if (result.ec) return result;
            if (out) result.packets.push_back(std::move(*out));
        }
        offset += piece;
    }
    return result;
}

// Decodes `input`, which must hold exactly one valid packet.
inline packet decode_one(const byte_buffer& input)
{
    const auto result = decode_all(input);
    REQUIRE_FALSE(result.ec);
    REQUIRE(result.packets.size() == 1);
    REQUIRE(result.consumed == input.size());
    return result.packets.front();
}

inline std::string to_string(const packet& p)
{
    static const char* const names[] = {"CONNECT", "CONNACK", "PUBLISH",     "PUBACK",   "PUBREC",
                                        "PUBREL",  "PUBCOMP", "SUBSCRIBE",   "SUBACK",   "UNSUBSCRIBE",
                                        "UNSUBACK", "PINGREQ", "PINGRESP",   "DISCONNECT"};
    std::ostringstream s;
    s << names[p.index()];
    if (const auto* pub = std::get_if<mqtt::protocol::publish>(&p)) {
        s << " topic=" << pub->topic << " qos=" << int(pub->qos) << " retain=" << pub->retain << " dup=" << pub->dup
          << " id=" << pub->packet_id << " payload(" << pub->payload.size() << ")";
    } else if (const auto* c = std::get_if<mqtt::protocol::connect>(&p)) {
        s << " client_id=" << c->client_id << " keepalive=" << c->keepalive << " will=" << c->will.has_value()
          << " username=" << c->username.has_value() << " password=" << c->password.has_value();
    }
    return s.str();
}

// Every packet type at least once, some with every optional field: the set
// the round-trip and split-feeding tests run over.
inline std::vector<packet> sample_packets()
{
    using namespace mqtt::protocol;
    connect full;
    full.client_id = "client-1";
    full.clean_session = false;
    full.keepalive = 300;
    full.will = will{"status/client-1", std::string("gone\0!", 6), 2, true};
    full.username = "user";
    full.password = std::string("p\0ss", 4);
    connect v31;
    v31.version = protocol_version::v31;
    v31.client_id = "old";
    return {
        connect{},
        full,
        v31,
        connack{},
        connack{true, connack_code::not_authorized},
        publish{"a/b", "hello", 0, false, false, 0},
        publish{"sensors/temp", std::string(300, 'x'), 1, true, false, 7},
        publish{"q2", std::string("\0\xff\x80", 3), 2, false, true, 65535},
        puback{1},
        pubrec{2},
        pubrel{3},
        pubcomp{4},
        subscribe{10, {{"a/+", 0}, {"b/#", 1}, {"#", 2}}},
        suback{10, {0, 1, 2, suback_failure}},
        unsubscribe{11, {"a/+", "b/#"}},
        unsuback{11},
        pingreq{},
        pingresp{},
        disconnect{},
    };
}

}  // namespace protocol_test

namespace Catch {
template <>
struct StringMaker<std::error_code> {
    static std::string convert(const std::error_code& ec)
    {
        if (!ec) return "no error";
        return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
    }
};
template <>
struct StringMaker<mqtt::errc> {
    static std::string convert(mqtt::errc e) { return StringMaker<std::error_code>::convert(make_error_code(e)); }
};
template <>
struct StringMaker<mqtt::protocol::packet> {
    static std::string convert(const mqtt::protocol::packet& p) { return protocol_test::to_string(p); }
};
}  // namespace Catch
