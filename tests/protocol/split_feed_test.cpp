// The decoder gives the same packets however the bytes are split: one byte
// at a time, at every split point, and as one stream of many packets.
#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using protocol_test::decode_all;
using protocol_test::encoded;
using protocol_test::sample_packets;

TEST_CASE("Every packet type round-trips encode -> decode", "[split][round_trip]")
{
    for (const auto& p : sample_packets()) {
        CAPTURE(p);
        const auto bytes = encoded(p);
        const auto result = decode_all(bytes);
        REQUIRE_FALSE(result.ec);
        REQUIRE(result.packets.size() == 1);
        CHECK(result.packets[0] == p);
        CHECK(result.consumed == bytes.size());
    }
}

TEST_CASE("Every packet fed one byte at a time completes on its last byte", "[split]")
{
    for (const auto& p : sample_packets()) {
        CAPTURE(p);
        const auto bytes = encoded(p);
        decoder d;
        std::optional<packet> out;
        std::error_code ec;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            REQUIRE(d.feed(&bytes[i], 1, out, ec) == 1);
            REQUIRE_FALSE(ec);
            if (i + 1 < bytes.size()) REQUIRE_FALSE(out);
        }
        REQUIRE(out);
        CHECK(*out == p);
    }
}

TEST_CASE("Every packet split at every point decodes the same", "[split]")
{
    for (const auto& p : sample_packets()) {
        CAPTURE(p);
        const auto bytes = encoded(p);
        for (std::size_t split = 0; split <= bytes.size(); ++split) {
            CAPTURE(split);
            decoder d;
            std::optional<packet> out;
            std::error_code ec;
            std::vector<packet> got;
            using range = std::pair<std::size_t, std::size_t>;
            for (const auto& [from, to] : {range{0, split}, range{split, bytes.size()}}) {
                std::size_t at = from;
                while (at < to) {
                    at += d.feed(bytes.data() + at, to - at, out, ec);
                    REQUIRE_FALSE(ec);
                    if (out) got.push_back(*out);
                }
            }
            REQUIRE(got.size() == 1);
            CHECK(got[0] == p);
        }
    }
}

TEST_CASE("A stream of all packets decodes in order for any chunk size", "[split]")
{
    const auto packets = sample_packets();
    byte_buffer stream;
    for (const auto& p : packets) encode(p, stream);
    for (std::size_t chunk : {0u, 1u, 2u, 3u, 5u, 7u, 64u, 333u, 4096u}) {
        CAPTURE(chunk);
        const auto result = decode_all(stream, chunk);
        REQUIRE_FALSE(result.ec);
        CHECK(result.consumed == stream.size());
        CHECK(result.packets == packets);
    }
}

TEST_CASE("feed stops after one packet and reports what it consumed", "[split]")
{
    byte_buffer stream;
    encode(publish{"a", "1", 1, false, false, 1}, stream);
    const std::size_t first_size = stream.size();
    encode(puback{1}, stream);
    decoder d;
    std::optional<packet> out;
    std::error_code ec;
    CHECK(d.feed(stream.data(), stream.size(), out, ec) == first_size);
    REQUIRE(out);
    CHECK(*out == packet{publish{"a", "1", 1, false, false, 1}});
    CHECK(d.feed(stream.data() + first_size, stream.size() - first_size, out, ec) == 4);
    REQUIRE(out);
    CHECK(*out == packet{puback{1}});
}

TEST_CASE("A large packet in small chunks, then a small one whole, share one decoder", "[split]")
{
    // Exercises the accumulation buffer and the in-place path back to back,
    // and the buffer's reuse after a packet larger than it keeps.
    const packet big = publish{"big", std::string(100000, 'b'), 0, false, false, 0};
    const packet small = publish{"s", "x", 2, true, true, 2};
    byte_buffer stream;
    for (int round = 0; round < 3; ++round) {
        encode(big, stream);
        encode(small, stream);
    }
    const auto result = decode_all(stream, 1000);
    REQUIRE_FALSE(result.ec);
    REQUIRE(result.packets.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) CHECK(result.packets[i] == (i % 2 == 0 ? big : small));
}
