// Bytes that break MQTT 3.1.1, each refused with its precise errc, whether
// fed at once or one byte at a time; and the decoder stays failed after.
// decode_packet.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/protocol/decode_packet.hpp>

#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using mqtt::errc;
using protocol_test::decode_all;

namespace {

struct malformed_case {
    const char* what;
    byte_buffer input;
    errc expected;
};

// CONNECT prefix up to and including the protocol level.
#define MQTT_311_HEADER 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04

const std::vector<malformed_case>& malformed_cases()
{
    static const std::vector<malformed_case> table = {
        // --- fixed header ---
        {"packet type 0 is reserved", {
            0x00,                // type 0
            0x00,                // remaining length 0
        }, errc::reserved_packet_type},
        {"packet type 15 is reserved", {
            0xF0,                // type 15
            0x00,                // remaining length 0
        }, errc::reserved_packet_type},
        {"CONNECT with fixed header flags", {
            0x11,                // CONNECT, flags 0b0001
            0x00,                // remaining length 0
        }, errc::invalid_fixed_header_flags},
        {"PUBREL without its reserved 0b0010 flags", {
            0x60,                // PUBREL, flags 0 (must be 0b0010)
            0x02,                // remaining length 2
            0x00, 0x01,          // packet id 1
        }, errc::invalid_fixed_header_flags},
        {"SUBSCRIBE without its reserved flags", {
            0x80,                // SUBSCRIBE, flags 0 (must be 0b0010)
            0x06,                // remaining length 6
            0x00, 0x01,          // packet id 1
            0x00, 0x01, 'a',     // filter "a"
            0x00,                // QoS 0
        }, errc::invalid_fixed_header_flags},
        {"UNSUBSCRIBE with flags 0b0011", {
            0xA3,                // UNSUBSCRIBE, flags 0b0011
            0x05,                // remaining length 5
            0x00, 0x01,          // packet id 1
            0x00, 0x01, 'a',     // filter "a"
        }, errc::invalid_fixed_header_flags},
        {"PINGREQ with flags", {
            0xC8,                // PINGREQ, flags 0b1000
            0x00,                // remaining length 0
        }, errc::invalid_fixed_header_flags},
        {"PUBLISH with QoS 3", {
            0x36,                // PUBLISH, QoS bits 0b11
            0x05,                // remaining length 5
            0x00, 0x01, 't',     // topic "t"
            0x00, 0x01,          // packet id 1
        }, errc::invalid_qos},
        {"remaining length longer than 4 bytes", {
            0x30,                // PUBLISH, QoS 0
            0xFF, 0xFF, 0xFF, 0xFF, // 4 bytes, the last still continued
            0x01,                // a 5th length byte
        }, errc::malformed_remaining_length},
        {"CONNACK with remaining length 3", {
            0x20,                // CONNACK
            0x03,                // remaining length 3 (must be 2)
            0x00, 0x00, 0x00,    // flags, return code, one byte too many
        }, errc::invalid_remaining_length},
        {"PUBACK with remaining length 1", {
            0x40,                // PUBACK
            0x01,                // remaining length 1 (must be 2)
            0x01,                // half a packet id
        }, errc::invalid_remaining_length},
        {"UNSUBACK with remaining length 3", {
            0xB0,                // UNSUBACK
            0x03,                // remaining length 3 (must be 2)
            0x00, 0x01, 0x00,    // packet id 1 and a stray byte
        }, errc::invalid_remaining_length},
        {"PINGRESP with a body", {
            0xD0,                // PINGRESP
            0x01,                // remaining length 1 (must be 0)
            0x00,                // stray byte
        }, errc::invalid_remaining_length},
        {"DISCONNECT with a body", {
            0xE0,                // DISCONNECT
            0x02,                // remaining length 2 (must be 0)
            0x00, 0x00,          // stray bytes
        }, errc::invalid_remaining_length},

        // --- CONNACK ---
        {"CONNACK with reserved acknowledge flags", {
            0x20,                // CONNACK
            0x02,                // remaining length 2
            0x02,                // acknowledge flags: bit 1 is reserved
            0x00,                // return code 0
        }, errc::invalid_connack_flags},

        // --- CONNECT ---
        {"CONNECT with protocol name MQTX", {
            0x10,                // CONNECT
            0x0C,                // remaining length 12
            0x00, 0x04, 'M', 'Q', 'T', 'X', // protocol name "MQTX"
            0x04,                // level 4
            0x02,                // flags: clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
        }, errc::invalid_protocol_name},
        {"CONNECT MQTT with level 3", {
            0x10,                // CONNECT
            0x0C,                // remaining length 12
            0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
            0x03,                // level 3: belongs to "MQIsdp"
            0x02,                // flags: clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
        }, errc::unsupported_protocol_level},
        {"CONNECT MQIsdp with level 4", {
            0x10,                // CONNECT
            0x0E,                // remaining length 14
            0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
            0x04,                // level 4: belongs to "MQTT"
            0x02,                // flags: clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
        }, errc::unsupported_protocol_level},
        {"CONNECT with the reserved flag bit set", {
            0x10,                // CONNECT
            0x0C,                // remaining length 12
            MQTT_311_HEADER,     // "MQTT", level 4
            0x03,                // flags: clean session + reserved bit 0
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
        }, errc::invalid_connect_flags},
        {"CONNECT with will QoS 3", {
            0x10,                // CONNECT
            0x12,                // remaining length 18
            MQTT_311_HEADER,     // "MQTT", level 4
            0x1E,                // flags: will QoS 3 (0x18), will, clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
            0x00, 0x01, 't',     // will topic "t"
            0x00, 0x01, 'm',     // will message "m"
        }, errc::invalid_connect_flags},
        {"CONNECT with will retain but no will", {
            0x10,                // CONNECT
            0x0C,                // remaining length 12
            MQTT_311_HEADER,     // "MQTT", level 4
            0x22,                // flags: will retain, clean session, no will flag
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
        }, errc::invalid_connect_flags},
        {"CONNECT with will QoS 1 but no will", {
            0x10,                // CONNECT
            0x0C,                // remaining length 12
            MQTT_311_HEADER,     // "MQTT", level 4
            0x0A,                // flags: will QoS 1, clean session, no will flag
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
        }, errc::invalid_connect_flags},
        {"CONNECT with a password but no username", {
            0x10,                // CONNECT
            0x0F,                // remaining length 15
            MQTT_311_HEADER,     // "MQTT", level 4
            0x42,                // flags: password, clean session, no username
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
            0x00, 0x01, 'p',     // password "p"
        }, errc::invalid_connect_flags},
        {"CONNECT with a byte after the last field", {
            0x10,                // CONNECT
            0x0D,                // remaining length 13
            MQTT_311_HEADER,     // "MQTT", level 4
            0x02,                // flags: clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
            0x00,                // left over
        }, errc::trailing_bytes},
        {"CONNECT whose client id runs past the end", {
            0x10,                // CONNECT
            0x0D,                // remaining length 13
            MQTT_311_HEADER,     // "MQTT", level 4
            0x02,                // flags: clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x05, 'a',     // client id of length 5, only 1 byte there
        }, errc::truncated_packet},
        {"CONNECT without its keepalive", {
            0x10,                // CONNECT
            0x09,                // remaining length 9
            MQTT_311_HEADER,     // "MQTT", level 4
            0x02,                // flags: clean session
            0x00,                // half a keepalive
        }, errc::truncated_packet},
        {"CONNECT with a wildcard will topic", {
            0x10,                // CONNECT
            0x12,                // remaining length 18
            MQTT_311_HEADER,     // "MQTT", level 4
            0x06,                // flags: will, clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
            0x00, 0x01, '#',     // will topic "#": a filter, not a name
            0x00, 0x01, 'm',     // will message "m"
        }, errc::invalid_topic},
        {"CONNECT with a username that is not UTF-8", {
            0x10,                // CONNECT
            0x0F,                // remaining length 15
            MQTT_311_HEADER,     // "MQTT", level 4
            0x82,                // flags: username, clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x00,          // client id ""
            0x00, 0x01, 0xC3,    // username: a truncated 2-byte sequence
        }, errc::invalid_utf8},
        {"CONNECT with a NUL in the client id", {
            0x10,                // CONNECT
            0x0E,                // remaining length 14
            MQTT_311_HEADER,     // "MQTT", level 4
            0x02,                // flags: clean session
            0x00, 0x3C,          // keepalive 60
            0x00, 0x02, 'a', 0x00, // client id "a\0"
        }, errc::utf8_null_character},

        // --- PUBLISH and acks ---
        {"PUBLISH QoS 1 with packet id 0", {
            0x32,                // PUBLISH, QoS 1
            0x05,                // remaining length 5
            0x00, 0x01, 't',     // topic "t"
            0x00, 0x00,          // packet id 0
        }, errc::packet_id_zero},
        {"PUBLISH QoS 1 without room for the packet id", {
            0x32,                // PUBLISH, QoS 1
            0x04,                // remaining length 4
            0x00, 0x01, 't',     // topic "t"
            0x00,                // half a packet id
        }, errc::truncated_packet},
        {"PUBLISH whose topic runs past the end", {
            0x30,                // PUBLISH, QoS 0
            0x03,                // remaining length 3
            0x00, 0x05, 'a',     // topic of length 5, only 1 byte there
        }, errc::truncated_packet},
        {"PUBLISH with only half a topic length", {
            0x30,                // PUBLISH, QoS 0
            0x01,                // remaining length 1
            0x00,                // half a topic length
        }, errc::truncated_packet},
        {"PUBLISH with an empty topic", {
            0x30,                // PUBLISH, QoS 0
            0x02,                // remaining length 2
            0x00, 0x00,          // topic ""
        }, errc::invalid_topic},
        {"PUBLISH to a topic with '+'", {
            0x30,                // PUBLISH, QoS 0
            0x05,                // remaining length 5
            0x00, 0x03, 'a', '/', '+', // topic "a/+"
        }, errc::invalid_topic},
        {"PUBLISH to a topic with '#'", {
            0x30,                // PUBLISH, QoS 0
            0x03,                // remaining length 3
            0x00, 0x01, '#',     // topic "#"
        }, errc::invalid_topic},
        {"PUBLISH topic with an invalid UTF-8 byte", {
            0x30,                // PUBLISH, QoS 0
            0x03,                // remaining length 3
            0x00, 0x01, 0xFF,    // topic: 0xFF never appears in UTF-8
        }, errc::invalid_utf8},
        {"PUBLISH topic with a surrogate", {
            0x30,                // PUBLISH, QoS 0
            0x05,                // remaining length 5
            0x00, 0x03, 0xED, 0xA0, 0x80, // topic: U+D800
        }, errc::invalid_utf8},
        {"PUBLISH topic with U+0000", {
            0x30,                // PUBLISH, QoS 0
            0x04,                // remaining length 4
            0x00, 0x02, 'a', 0x00, // topic "a\0"
        }, errc::utf8_null_character},
        {"PUBACK with packet id 0", {
            0x40,                // PUBACK
            0x02,                // remaining length 2
            0x00, 0x00,          // packet id 0
        }, errc::packet_id_zero},
        {"PUBREL with packet id 0", {
            0x62,                // PUBREL, flags 0b0010
            0x02,                // remaining length 2
            0x00, 0x00,          // packet id 0
        }, errc::packet_id_zero},

        // --- SUBSCRIBE family ---
        {"SUBSCRIBE with no filter", {
            0x82,                // SUBSCRIBE
            0x02,                // remaining length 2
            0x00, 0x01,          // packet id 1, then nothing
        }, errc::empty_subscription_list},
        {"SUBSCRIBE with packet id 0", {
            0x82,                // SUBSCRIBE
            0x06,                // remaining length 6
            0x00, 0x00,          // packet id 0
            0x00, 0x01, 'a',     // filter "a"
            0x00,                // QoS 0
        }, errc::packet_id_zero},
        {"SUBSCRIBE with reserved bits in the requested QoS", {
            0x82,                // SUBSCRIBE
            0x06,                // remaining length 6
            0x00, 0x01,          // packet id 1
            0x00, 0x01, 'a',     // filter "a"
            0x05,                // QoS 1 plus reserved bit 2
        }, errc::invalid_subscribe_options},
        {"SUBSCRIBE requesting QoS 3", {
            0x82,                // SUBSCRIBE
            0x06,                // remaining length 6
            0x00, 0x01,          // packet id 1
            0x00, 0x01, 'a',     // filter "a"
            0x03,                // QoS 3
        }, errc::invalid_qos},
        {"SUBSCRIBE with '#' inside a level", {
            0x82,                // SUBSCRIBE
            0x07,                // remaining length 7
            0x00, 0x01,          // packet id 1
            0x00, 0x02, 'a', '#', // filter "a#"
            0x00,                // QoS 0
        }, errc::invalid_topic_filter},
        {"SUBSCRIBE with a filter but no QoS byte", {
            0x82,                // SUBSCRIBE
            0x05,                // remaining length 5
            0x00, 0x01,          // packet id 1
            0x00, 0x01, 'a',     // filter "a", then nothing
        }, errc::truncated_packet},
        {"SUBSCRIBE with half a packet id", {
            0x82,                // SUBSCRIBE
            0x01,                // remaining length 1
            0x00,                // half a packet id
        }, errc::truncated_packet},
        {"SUBACK with return code 3", {
            0x90,                // SUBACK
            0x03,                // remaining length 3
            0x00, 0x01,          // packet id 1
            0x03,                // return code 3: undefined
        }, errc::invalid_suback_return_code},
        {"SUBACK with packet id 0", {
            0x90,                // SUBACK
            0x03,                // remaining length 3
            0x00, 0x00,          // packet id 0
            0x00,                // granted QoS 0
        }, errc::packet_id_zero},
        {"UNSUBSCRIBE with no filter", {
            0xA2,                // UNSUBSCRIBE
            0x02,                // remaining length 2
            0x00, 0x01,          // packet id 1, then nothing
        }, errc::empty_subscription_list},
        {"UNSUBSCRIBE with '+' inside a level", {
            0xA2,                // UNSUBSCRIBE
            0x06,                // remaining length 6
            0x00, 0x01,          // packet id 1
            0x00, 0x02, '+', 'a', // filter "+a"
        }, errc::invalid_topic_filter},
        {"UNSUBSCRIBE with '#' not last", {
            0xA2,                // UNSUBSCRIBE
            0x07,                // remaining length 7
            0x00, 0x01,          // packet id 1
            0x00, 0x03, '#', '/', 'a', // filter "#/a"
        }, errc::invalid_topic_filter},
        {"UNSUBSCRIBE with packet id 0", {
            0xA2,                // UNSUBSCRIBE
            0x05,                // remaining length 5
            0x00, 0x00,          // packet id 0
            0x00, 0x01, 'a',     // filter "a"
        }, errc::packet_id_zero},
        {"UNSUBACK with packet id 0", {
            0xB0,                // UNSUBACK
            0x02,                // remaining length 2
            0x00, 0x00,          // packet id 0
        }, errc::packet_id_zero},
    };
    return table;
}

#undef MQTT_311_HEADER

}  // namespace

TEST_CASE("Malformed packets are refused with their precise error", "[malformed]")
{
    REQUIRE(malformed_cases().size() >= 25);
    for (const auto& c : malformed_cases()) {
        CAPTURE(c.what);
        for (std::size_t chunk : {std::size_t{0}, std::size_t{1}}) {  // at once, then byte by byte
            CAPTURE(chunk);
            const auto result = decode_all(c.input, chunk);
            CHECK(result.ec == c.expected);
            CHECK(result.packets.empty());
        }
        // The free function agrees, given the framed body.
        std::size_t length = 0;
        std::error_code ec;
        const std::size_t length_bytes = decode_remaining_length(c.input.data() + 1, c.input.size() - 1, length, ec);
        if (!ec && length_bytes > 0 && c.input.size() == 1 + length_bytes + length) {
            const auto decoded = decode_packet(c.input[0], c.input.data() + 1 + length_bytes, length, ec);
            CHECK(ec == c.expected);
            CHECK_FALSE(decoded);
        }
    }
}

TEST_CASE("Every malformed case has a distinct input", "[malformed]")
{
    const auto& cases = malformed_cases();
    for (std::size_t i = 0; i < cases.size(); ++i) {
        for (std::size_t j = i + 1; j < cases.size(); ++j) {
            CAPTURE(cases[i].what, cases[j].what);
            CHECK(cases[i].input != cases[j].input);
        }
    }
}

TEST_CASE("Header errors are reported at the offending byte", "[malformed]")
{
    decoder d;
    std::optional<packet> out;
    std::error_code ec;
    const byte_buffer reserved = {
        0xF0,  // type 15
        0x00,  // never read
    };
    CHECK(d.feed(reserved.data(), reserved.size(), out, ec) == 1);
    CHECK(ec == errc::reserved_packet_type);

    decoder d2;
    const byte_buffer too_long = {
        0x30,                    // PUBLISH
        0x80, 0x80, 0x80, 0x80,  // 4 continued length bytes
        0x01,                    // never read
    };
    CHECK(d2.feed(too_long.data(), too_long.size(), out, ec) == 5);
    CHECK(ec == errc::malformed_remaining_length);
}

TEST_CASE("After an error the decoder refuses input until reset", "[malformed]")
{
    decoder d;
    std::optional<packet> out;
    std::error_code ec;
    const byte_buffer bad = {
        0x40, 0x02, 0x00, 0x00,  // PUBACK with packet id 0
    };
    const byte_buffer good = {
        0x40, 0x02, 0x00, 0x01,  // PUBACK with packet id 1
    };
    CHECK(d.feed(bad.data(), bad.size(), out, ec) == 4);
    CHECK(ec == errc::packet_id_zero);
    CHECK(d.failed());

    ec.clear();
    CHECK(d.feed(good.data(), good.size(), out, ec) == 0);
    CHECK(ec == errc::packet_id_zero);  // still the first error
    CHECK_FALSE(out);

    d.reset();
    CHECK_FALSE(d.failed());
    CHECK(d.feed(good.data(), good.size(), out, ec) == 4);
    CHECK_FALSE(ec);
    REQUIRE(out);
    CHECK(*out == packet{puback{1}});
}

TEST_CASE("reset drops a partial packet", "[malformed]")
{
    decoder d;
    std::optional<packet> out;
    std::error_code ec;
    const byte_buffer half = {
        0x30, 0x05, 0x00,  // PUBLISH header and half a topic length
    };
    CHECK(d.feed(half.data(), half.size(), out, ec) == 3);
    CHECK_FALSE(out);
    d.reset();
    const byte_buffer ping = {
        0xC0, 0x00,  // PINGREQ
    };
    CHECK(d.feed(ping.data(), ping.size(), out, ec) == 2);
    CHECK_FALSE(ec);
    REQUIRE(out);
    CHECK(*out == packet{pingreq{}});
}

TEST_CASE("Feeding nothing is harmless", "[malformed]")
{
    decoder d;
    std::optional<packet> out = packet{pingreq{}};
    std::error_code ec = errc::protocol_error;
    CHECK(d.feed(nullptr, 0, out, ec) == 0);
    CHECK_FALSE(ec);
    CHECK_FALSE(out);
}
