// How the encoder treats the caller's buffer: it appends, computes each
// packet's size exactly, and grows the buffer at most once per packet.
#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using protocol_test::encoded;
using protocol_test::sample_packets;

TEST_CASE("Encoding appends and keeps what the buffer held", "[encoder]")
{
    byte_buffer out = {0xDE, 0xAD};
    encode(pingreq{}, out);
    encode(puback{9}, out);
    CHECK(out == byte_buffer{
                     0xDE, 0xAD,  // what was there
                     0xC0, 0x00,  // PINGREQ
                     0x40, 0x02,  // PUBACK, remaining length 2
                     0x00, 0x09,  // packet id 9
                 });
}

TEST_CASE("Each packet fits exactly the size it reserves", "[encoder]")
{
    // A buffer with room for exactly the packet must not move: the encoder's
    // size computation matches what it writes, byte for byte.
    for (const auto& p : sample_packets()) {
        CAPTURE(p);
        const auto expected = encoded(p);
        byte_buffer out;
        out.reserve(expected.size());
        const auto* before = out.data();
        encode(p, out);
        CHECK(out.data() == before);
        CHECK(out == expected);
    }
}

TEST_CASE("encode_publish grows an empty buffer exactly once, to the packet size", "[encoder]")
{
    byte_buffer out;
    encode_publish("t/1", std::string(1000, 'p'), 1, false, false, 3, out);
    CHECK(out.size() == 1 + 2 + 5 + 2 + 1000);
    CHECK(out.capacity() == out.size());
}

TEST_CASE("Appending many packets to one buffer grows it geometrically", "[encoder]")
{
    byte_buffer out;
    int reallocations = 0;
    const auto* data = out.data();
    for (int i = 0; i < 10000; ++i) {
        encode_publish("t", "payload", 0, false, false, 0, out);
        if (out.data() != data) {
            ++reallocations;
            data = out.data();
        }
    }
    CHECK(out.size() == 10000u * 12u);
    CHECK(reallocations < 25);
}
