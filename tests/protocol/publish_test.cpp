// PUBLISH and its acknowledgements: exact bytes, decoding, round trips,
// the encode_publish hot path and DUP patching.
// decoder.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/protocol/decoder.hpp>

#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using protocol_test::decode_one;
using protocol_test::encoded;

TEST_CASE("PUBLISH QoS 0 has no packet id", "[publish]")
{
    const publish p{"a/b", "hi", 0, false, false, 0};
    const byte_buffer expected = {
        0x30,                    // PUBLISH, QoS 0, no retain, no dup
        0x07,                    // remaining length 7
        0x00, 0x03, 'a', '/', 'b', // topic "a/b"
        'h', 'i',                // payload "hi"
    };
    CHECK(encoded(p) == expected);
    CHECK(decode_one(expected) == packet{p});
}

TEST_CASE("PUBLISH QoS 1 with retain carries the packet id", "[publish]")
{
    const publish p{"a/b", "hi", 1, true, false, 0x1234};
    const byte_buffer expected = {
        0x33,                    // PUBLISH, QoS 1 (0x02), retain (0x01)
        0x09,                    // remaining length 9
        0x00, 0x03, 'a', '/', 'b', // topic "a/b"
        0x12, 0x34,              // packet id 0x1234
        'h', 'i',                // payload "hi"
    };
    CHECK(encoded(p) == expected);
    CHECK(decode_one(expected) == packet{p});
}

TEST_CASE("PUBLISH QoS 2 with dup and an empty payload", "[publish]")
{
    const publish p{"t", "", 2, false, true, 1};
    const byte_buffer expected = {
        0x3C,                    // PUBLISH, dup (0x08), QoS 2 (0x04)
        0x05,                    // remaining length 5
        0x00, 0x01, 't',         // topic "t"
        0x00, 0x01,              // packet id 1
    };
    CHECK(encoded(p) == expected);
    CHECK(decode_one(expected) == packet{p});
}

TEST_CASE("PUBLISH payload is bytes: NUL and invalid UTF-8 survive", "[publish]")
{
    const std::string payload("\0\xff\xfe\xc0\x80", 5);
    const publish p{"bin", payload, 0, false, false, 0};
    const byte_buffer expected = {
        0x30,                    // PUBLISH, QoS 0
        0x0A,                    // remaining length 10
        0x00, 0x03, 'b', 'i', 'n', // topic "bin"
        0x00, 0xFF, 0xFE, 0xC0, 0x80, // payload, not validated
    };
    CHECK(encoded(p) == expected);
    CHECK(decode_one(expected) == packet{p});
}

TEST_CASE("PUBLISH with a UTF-8 topic and a payload needing a 2-byte remaining length", "[publish]")
{
    const publish p{"caf\xc3\xa9", std::string(200, 'z'), 1, false, false, 9};
    const auto bytes = encoded(p);
    REQUIRE(bytes.size() == 1 + 2 + 2 + 5 + 2 + 200);
    CHECK(bytes[0] == 0x32);  // PUBLISH, QoS 1
    CHECK(bytes[1] == 0xD1);  // remaining length 209: low 7 bits 0x51, continuation bit
    CHECK(bytes[2] == 0x01);  // then 1 * 128
    CHECK(decode_one(bytes) == packet{p});
}

TEST_CASE("encode_publish writes the same bytes as encoding the struct", "[publish]")
{
    for (std::uint8_t qos = 0; qos <= 2; ++qos) {
        for (bool retain : {false, true}) {
            for (bool dup : {false, true}) {
                const publish p{"x/y", "payload", qos, retain, dup, static_cast<std::uint16_t>(qos == 0 ? 0 : 42)};
                byte_buffer direct;
                encode_publish("x/y", "payload", qos, retain, dup, p.packet_id, direct);
                CHECK(direct == encoded(p));
                CHECK(decode_one(direct) == packet{p});
            }
        }
    }
}

TEST_CASE("encode_publish ignores the packet id at QoS 0", "[publish]")
{
    byte_buffer out;
    encode_publish("t", "", 0, false, false, 77, out);
    CHECK(out == byte_buffer{
                     0x30,             // PUBLISH, QoS 0
                     0x03,             // remaining length 3
                     0x00, 0x01, 't',  // topic "t", no packet id
                 });
}

TEST_CASE("set_dup_flag turns a stored PUBLISH into its re-delivery", "[publish]")
{
    static_assert(
        [] {
            std::uint8_t first = 0x32;
            set_dup_flag(first);
            return first;
        }() == 0x3A,
        "usable in constant expressions");

    byte_buffer stored;
    encode_publish("a", "m", 1, false, false, 5, stored);
    set_dup_flag(stored[0]);
    byte_buffer resent;
    encode_publish("a", "m", 1, false, true, 5, resent);
    CHECK(stored == resent);
    set_dup_flag(stored[0]);  // idempotent
    CHECK(stored == resent);
}

TEST_CASE("PUBACK, PUBREC, PUBREL and PUBCOMP encode to exact bytes", "[publish][ack]")
{
    CHECK(encoded(puback{0x1234}) == byte_buffer{
                                         0x40,        // PUBACK, flags 0
                                         0x02,        // remaining length 2
                                         0x12, 0x34,  // packet id
                                     });
    CHECK(encoded(pubrec{0x0102}) == byte_buffer{
                                         0x50,        // PUBREC, flags 0
                                         0x02,        // remaining length 2
                                         0x01, 0x02,  // packet id
                                     });
    CHECK(encoded(pubrel{0xFFFF}) == byte_buffer{
                                         0x62,        // PUBREL, reserved flags 0b0010
                                         0x02,        // remaining length 2
                                         0xFF, 0xFF,  // packet id 65535
                                     });
    CHECK(encoded(pubcomp{1}) == byte_buffer{
                                     0x70,        // PUBCOMP, flags 0
                                     0x02,        // remaining length 2
                                     0x00, 0x01,  // packet id 1
                                 });
}

TEST_CASE("PUBLISH acknowledgements round-trip and keep their type", "[publish][ack]")
{
    const std::vector<packet> acks = {puback{1}, pubrec{300}, pubrel{65535}, pubcomp{4096}};
    for (const auto& ack : acks) {
        const auto decoded = decode_one(encoded(ack));
        CHECK(decoded.index() == ack.index());
        CHECK(decoded == ack);
    }
}

TEST_CASE("PUBLISH round-trips for every QoS, retain and dup combination", "[publish]")
{
    for (std::uint8_t qos = 0; qos <= 2; ++qos) {
        for (bool retain : {false, true}) {
            for (bool dup : {false, true}) {
                const packet p = publish{"a/b/c", "x", qos, retain, dup, static_cast<std::uint16_t>(qos ? 513 : 0)};
                CHECK(decode_one(encoded(p)) == p);
            }
        }
    }
}
