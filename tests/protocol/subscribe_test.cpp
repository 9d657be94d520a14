// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK: exact bytes, decoding, round trips.
#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using protocol_test::decode_one;
using protocol_test::encoded;

TEST_CASE("SUBSCRIBE encodes the filter list with requested QoS bytes", "[subscribe]")
{
    const subscribe s{10, {{"a/+", 1}, {"#", 2}}};
    const byte_buffer expected = {
        0x82,                    // SUBSCRIBE, reserved flags 0b0010
        0x0C,                    // remaining length 12
        0x00, 0x0A,              // packet id 10
        0x00, 0x03, 'a', '/', '+', // filter "a/+"
        0x01,                    // requested QoS 1
        0x00, 0x01, '#',         // filter "#"
        0x02,                    // requested QoS 2
    };
    CHECK(encoded(s) == expected);
    CHECK(decode_one(expected) == packet{s});
}

TEST_CASE("SUBSCRIBE with one QoS 0 filter", "[subscribe]")
{
    const subscribe s{0xABCD, {{"$SYS/#", 0}}};
    const byte_buffer expected = {
        0x82,                    // SUBSCRIBE, reserved flags 0b0010
        0x0B,                    // remaining length 11
        0xAB, 0xCD,              // packet id 0xABCD
        0x00, 0x06, '$', 'S', 'Y', 'S', '/', '#', // filter "$SYS/#"
        0x00,                    // requested QoS 0
    };
    CHECK(encoded(s) == expected);
    CHECK(decode_one(expected) == packet{s});
}

TEST_CASE("SUBACK encodes one return code per filter, 0x80 for failure", "[suback]")
{
    const suback s{10, {1, suback_failure, 2, 0}};
    const byte_buffer expected = {
        0x90,                    // SUBACK, flags 0
        0x06,                    // remaining length 6
        0x00, 0x0A,              // packet id 10
        0x01,                    // granted QoS 1
        0x80,                    // failure
        0x02,                    // granted QoS 2
        0x00,                    // granted QoS 0
    };
    CHECK(encoded(s) == expected);
    CHECK(decode_one(expected) == packet{s});
}

TEST_CASE("UNSUBSCRIBE encodes the filter list", "[unsubscribe]")
{
    const unsubscribe u{11, {"a/+", "b"}};
    const byte_buffer expected = {
        0xA2,                    // UNSUBSCRIBE, reserved flags 0b0010
        0x0A,                    // remaining length 10
        0x00, 0x0B,              // packet id 11
        0x00, 0x03, 'a', '/', '+', // filter "a/+"
        0x00, 0x01, 'b',         // filter "b"
    };
    CHECK(encoded(u) == expected);
    CHECK(decode_one(expected) == packet{u});
}

TEST_CASE("UNSUBACK carries only the packet id", "[unsuback]")
{
    const byte_buffer expected = {
        0xB0,                    // UNSUBACK, flags 0
        0x02,                    // remaining length 2
        0x00, 0x0B,              // packet id 11
    };
    CHECK(encoded(unsuback{11}) == expected);
    CHECK(decode_one(expected) == packet{unsuback{11}});
}

TEST_CASE("SUBSCRIBE family round-trips with many filters", "[subscribe]")
{
    subscribe s{1, {}};
    unsubscribe u{2, {}};
    suback a{3, {}};
    for (int i = 0; i < 100; ++i) {
        const auto filter = "level" + std::to_string(i) + (i % 3 == 0 ? "/#" : "/+/x");
        s.subscriptions.push_back({filter, static_cast<std::uint8_t>(i % 3)});
        u.filters.push_back(filter);
        a.return_codes.push_back(i % 4 == 3 ? suback_failure : static_cast<std::uint8_t>(i % 4));
    }
    CHECK(decode_one(encoded(s)) == packet{s});
    CHECK(decode_one(encoded(u)) == packet{u});
    CHECK(decode_one(encoded(a)) == packet{a});
    CHECK(decode_one(encoded(unsuback{65535})) == packet{unsuback{65535}});
}

TEST_CASE("SUBACK with no return codes is accepted as is", "[suback]")
{
    // 3.1.1 has no rule (or errc) for it; the session compares the count
    // with its SUBSCRIBE.
    const byte_buffer input = {
        0x90,                    // SUBACK, flags 0
        0x02,                    // remaining length 2
        0x00, 0x05,              // packet id 5
    };
    CHECK(decode_one(input) == packet{suback{5, {}}});
}
