// CONNECT and CONNACK: exact bytes, decoding, round trips.
// encoder.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/protocol/encoder.hpp>

#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using protocol_test::decode_one;
using protocol_test::encoded;

TEST_CASE("CONNECT with only a client id encodes to the exact bytes", "[connect]")
{
    connect c;
    c.client_id = "P1";
    const byte_buffer expected = {
        0x10,                    // CONNECT, flags 0
        0x0E,                    // remaining length 14
        0x00, 0x04,              // protocol name length 4
        'M', 'Q', 'T', 'T',      // protocol name
        0x04,                    // protocol level 4 (3.1.1)
        0x02,                    // connect flags: clean session
        0x00, 0x3C,              // keepalive 60
        0x00, 0x02, 'P', '1',    // client id "P1"
    };
    CHECK(encoded(c) == expected);
    CHECK(decode_one(expected) == packet{c});
}

TEST_CASE("CONNECT with will, username and password sets every flag", "[connect]")
{
    connect c;
    c.client_id = "c";
    c.clean_session = false;
    c.keepalive = 0x1234;
    c.will = will{"w/t", "bye", 1, true};
    c.username = "u";
    c.password = std::string("p\0w", 3);  // binary: NUL allowed
    const byte_buffer expected = {
        0x10,                    // CONNECT, flags 0
        0x1F,                    // remaining length 31
        0x00, 0x04,              // protocol name length 4
        'M', 'Q', 'T', 'T',      // protocol name
        0x04,                    // protocol level 4
        0xEC,                    // flags: username, password, will retain, will QoS 1, will; no clean session
        0x12, 0x34,              // keepalive 0x1234
        0x00, 0x01, 'c',         // client id "c"
        0x00, 0x03, 'w', '/', 't', // will topic "w/t"
        0x00, 0x03, 'b', 'y', 'e', // will message "bye"
        0x00, 0x01, 'u',         // username "u"
        0x00, 0x03, 'p', 0x00, 'w', // password "p\0w"
    };
    CHECK(encoded(c) == expected);
    CHECK(decode_one(expected) == packet{c});
}

TEST_CASE("CONNECT will QoS 2 without retain", "[connect]")
{
    connect c;
    c.client_id = "id";
    c.will = will{"t", "", 2, false};
    const byte_buffer expected = {
        0x10,                    // CONNECT, flags 0
        0x13,                    // remaining length 19
        0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
        0x04,                    // level 4
        0x16,                    // flags: will QoS 2 (0x10), will (0x04), clean session (0x02)
        0x00, 0x3C,              // keepalive 60
        0x00, 0x02, 'i', 'd',    // client id "id"
        0x00, 0x01, 't',         // will topic "t"
        0x00, 0x00,              // will message, empty
    };
    CHECK(encoded(c) == expected);
    CHECK(decode_one(expected) == packet{c});
}

TEST_CASE("CONNECT for MQTT 3.1 uses protocol name MQIsdp and level 3", "[connect]")
{
    connect c;
    c.version = protocol_version::v31;
    c.client_id = "x";
    c.keepalive = 0;
    const byte_buffer expected = {
        0x10,                    // CONNECT, flags 0
        0x0F,                    // remaining length 15
        0x00, 0x06,              // protocol name length 6
        'M', 'Q', 'I', 's', 'd', 'p', // protocol name
        0x03,                    // protocol level 3 (3.1)
        0x02,                    // flags: clean session
        0x00, 0x00,              // keepalive 0 (off)
        0x00, 0x01, 'x',         // client id "x"
    };
    CHECK(encoded(c) == expected);
    CHECK(decode_one(expected) == packet{c});
}

TEST_CASE("CONNECT with an empty client id round-trips", "[connect]")
{
    connect c;  // empty id: the server assigns one (clean session only)
    const auto bytes = encoded(c);
    CHECK(bytes.size() == 14);
    CHECK(bytes[13] == 0x00);  // client id length low byte
    CHECK(decode_one(bytes) == packet{c});
}

TEST_CASE("CONNECT password without username breaks the encoder precondition", "[connect]")
{
    // 3.1.1 has no way to say this: the bytes come out, and a decoder
    // (ours, or the broker's) refuses them. The client validates first.
    connect c;
    c.client_id = "c";
    c.password = "secret";
    const auto result = protocol_test::decode_all(encoded(c));
    CHECK(result.ec == mqtt::errc::invalid_connect_flags);
}

TEST_CASE("CONNECT username and password may be empty strings", "[connect]")
{
    connect c;
    c.client_id = "c";
    c.username = "";
    c.password = "";
    const auto bytes = encoded(c);
    CHECK(bytes[9] == 0xC2);  // flags: username, password, clean session
    CHECK(decode_one(bytes) == packet{c});
}

TEST_CASE("CONNACK encodes flags and return code", "[connack]")
{
    CHECK(encoded(connack{}) == byte_buffer{
                                    0x20,  // CONNACK, flags 0
                                    0x02,  // remaining length 2
                                    0x00,  // acknowledge flags: no session present
                                    0x00,  // return code 0: accepted
                                });
    CHECK(encoded(connack{true, connack_code::not_authorized}) == byte_buffer{
                                                                       0x20,  // CONNACK, flags 0
                                                                       0x02,  // remaining length 2
                                                                       0x01,  // session present
                                                                       0x05,  // return code 5: not authorized
                                                                   });
}

// Codes 6..255 are undefined in 3.1.1 but well-formed: the session reports
// them as errc::connection_refused_unknown_code, not as a decode error.
TEST_CASE("CONNACK round-trips every return code, defined or not, with and without session present", "[connack]")
{
    for (int code = 0; code <= 255; ++code) {
        for (bool session_present : {false, true}) {
            const connack c{session_present, static_cast<connack_code>(code)};
            const auto bytes = encoded(c);
            REQUIRE(bytes.size() == 4);
            CHECK(bytes[3] == code);
            CHECK(decode_one(bytes) == packet{c});
        }
    }
}

TEST_CASE("CONNECT round-trips through the generic packet encoder", "[connect]")
{
    for (const auto& p : protocol_test::sample_packets()) {
        if (!std::holds_alternative<connect>(p)) continue;
        byte_buffer direct;
        encode(std::get<connect>(p), direct);
        CHECK(direct == encoded(p));
        CHECK(decode_one(direct) == p);
    }
}
