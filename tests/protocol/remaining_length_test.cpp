// The remaining-length field at every size boundary, and the maximum packet
// size that the decoder enforces from the header alone.
// remaining_length.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/protocol/remaining_length.hpp>

#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using protocol_test::decode_all;
using protocol_test::encoded;

namespace {

struct boundary {
    std::size_t value;
    byte_buffer bytes;
};

const std::vector<boundary>& boundaries()
{
    static const std::vector<boundary> table = {
        {0, {0x00}},                              // 0: one byte
        {127, {0x7F}},                            // largest 1-byte value
        {128, {0x80, 0x01}},                      // smallest 2-byte value
        {16383, {0xFF, 0x7F}},                    // largest 2-byte value
        {16384, {0x80, 0x80, 0x01}},              // smallest 3-byte value
        {2097151, {0xFF, 0xFF, 0x7F}},            // largest 3-byte value
        {2097152, {0x80, 0x80, 0x80, 0x01}},      // smallest 4-byte value
        {268435455, {0xFF, 0xFF, 0xFF, 0x7F}},    // max_remaining_length
    };
    return table;
}

}  // namespace

TEST_CASE("Remaining length encodes every boundary to the exact bytes", "[remaining_length]")
{
    for (const auto& b : boundaries()) {
        CAPTURE(b.value);
        byte_buffer out = {0xAA};  // appends, keeps what was there
        encode_remaining_length(b.value, out);
        byte_buffer expected = {0xAA};
        expected.insert(expected.end(), b.bytes.begin(), b.bytes.end());
        CHECK(out == expected);
        CHECK(remaining_length_size(b.value) == b.bytes.size());
    }
    static_assert(remaining_length_size(max_remaining_length) == 4, "constexpr");
}

TEST_CASE("Remaining length decodes every boundary, and waits for missing bytes", "[remaining_length]")
{
    for (const auto& b : boundaries()) {
        CAPTURE(b.value);
        std::size_t length = 12345;
        std::error_code ec;
        CHECK(decode_remaining_length(b.bytes.data(), b.bytes.size(), length, ec) == b.bytes.size());
        CHECK_FALSE(ec);
        CHECK(length == b.value);
        // Every proper prefix is "need more", not an error.
        for (std::size_t n = 0; n < b.bytes.size(); ++n) {
            CHECK(decode_remaining_length(b.bytes.data(), n, length, ec) == 0);
            CHECK_FALSE(ec);
        }
    }
}

TEST_CASE("Remaining length with a continuation bit on the 4th byte is malformed", "[remaining_length]")
{
    const byte_buffer input = {0xFF, 0xFF, 0xFF, 0xFF, 0x01};  // would need a 5th byte
    std::size_t length = 0;
    std::error_code ec;
    CHECK(decode_remaining_length(input.data(), input.size(), length, ec) == 0);
    CHECK(ec == mqtt::errc::malformed_remaining_length);
    // Known after 4 bytes, whatever follows.
    CHECK(decode_remaining_length(input.data(), 4, length, ec) == 0);
    CHECK(ec == mqtt::errc::malformed_remaining_length);
}

TEST_CASE("Non-minimal remaining length encodings are accepted", "[remaining_length]")
{
    const byte_buffer input = {
        0xC0,        // PINGREQ
        0x80, 0x00,  // remaining length 0 in two bytes
    };
    const auto result = decode_all(input);
    CHECK_FALSE(result.ec);
    REQUIRE(result.packets.size() == 1);
    CHECK(result.packets[0] == packet{pingreq{}});
}

TEST_CASE("PUBLISH packets at remaining-length boundaries round-trip", "[remaining_length]")
{
    // Topic "t" and a packet id take 5 bytes of the remaining length; the
    // payload makes up the rest. Up to 2 MiB: cheap enough to build.
    for (std::size_t remaining : {std::size_t{5}, std::size_t{127}, std::size_t{128}, std::size_t{16383},
                                  std::size_t{16384}, std::size_t{2097151}, std::size_t{2097152}}) {
        CAPTURE(remaining);
        const packet p = publish{"t", std::string(remaining - 5, 'p'), 1, false, false, 1};
        const auto bytes = encoded(p);
        REQUIRE(bytes.size() == 1 + remaining_length_size(remaining) + remaining);
        std::size_t length = 0;
        std::error_code ec;
        CHECK(decode_remaining_length(bytes.data() + 1, bytes.size() - 1, length, ec) ==
              remaining_length_size(remaining));
        CHECK(length == remaining);
        const auto result = decode_all(bytes);
        REQUIRE_FALSE(result.ec);
        REQUIRE(result.packets.size() == 1);
        CHECK(result.packets[0] == p);
    }
}

TEST_CASE("The decoder rejects a too large packet from its header, before the body", "[remaining_length]")
{
    for (const auto& b : boundaries()) {
        if (b.value < 5) continue;  // a PUBLISH body needs at least a topic
        CAPTURE(b.value);
        byte_buffer header = {0x30};  // PUBLISH, QoS 0
        header.insert(header.end(), b.bytes.begin(), b.bytes.end());
        const std::size_t packet_size = header.size() + b.value;

        // One byte below the packet size: refused once the header is complete.
        decoder d(packet_size - 1);
        std::optional<packet> out;
        std::error_code ec;
        CHECK(d.feed(header.data(), header.size(), out, ec) == header.size());
        CHECK(ec == mqtt::errc::packet_too_large);
        CHECK_FALSE(out);

        // Exactly the packet size: accepted, waiting for the body.
        decoder exact(packet_size);
        CHECK(exact.feed(header.data(), header.size(), out, ec) == header.size());
        CHECK_FALSE(ec);
        CHECK_FALSE(out);
    }
}

TEST_CASE("The largest remaining length is accepted by a default decoder without allocating it", "[remaining_length]")
{
    const byte_buffer header = {
        0x30,                    // PUBLISH, QoS 0
        0xFF, 0xFF, 0xFF, 0x7F,  // remaining length 268435455
        0x00, 0x01, 't',         // topic "t": the first body bytes
    };
    decoder d;
    std::optional<packet> out;
    std::error_code ec;
    CHECK(d.feed(header.data(), header.size(), out, ec) == header.size());
    CHECK_FALSE(ec);
    CHECK_FALSE(out);
    CHECK_FALSE(d.failed());
}

TEST_CASE("The default maximum is the protocol's, and it can be changed between packets", "[remaining_length]")
{
    decoder d;
    CHECK(d.max_packet_size() == max_remaining_length + 5);
    const byte_buffer ack = {
        0x40,        // PUBACK
        0x02,        // remaining length 2: 4 bytes in all
        0x00, 0x01,  // packet id 1
    };
    std::optional<packet> out;
    std::error_code ec;
    d.set_max_packet_size(4);
    CHECK(d.feed(ack.data(), ack.size(), out, ec) == 4);
    CHECK_FALSE(ec);
    CHECK(out);
    d.set_max_packet_size(3);
    CHECK(d.feed(ack.data(), ack.size(), out, ec) == 2);  // refused right after the header
    CHECK(ec == mqtt::errc::packet_too_large);
}
