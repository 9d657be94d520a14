// PINGREQ, PINGRESP, DISCONNECT: two bytes each.
#include "protocol_test_util.hpp"

using namespace mqtt::protocol;
using protocol_test::decode_all;
using protocol_test::decode_one;
using protocol_test::encoded;

TEST_CASE("PINGREQ, PINGRESP and DISCONNECT encode to exact bytes", "[ping][disconnect]")
{
    CHECK(encoded(pingreq{}) == byte_buffer{
                                    0xC0,  // PINGREQ, flags 0
                                    0x00,  // remaining length 0
                                });
    CHECK(encoded(pingresp{}) == byte_buffer{
                                     0xD0,  // PINGRESP, flags 0
                                     0x00,  // remaining length 0
                                 });
    CHECK(encoded(disconnect{}) == byte_buffer{
                                       0xE0,  // DISCONNECT, flags 0
                                       0x00,  // remaining length 0
                                   });
}

TEST_CASE("PINGREQ, PINGRESP and DISCONNECT decode and keep their type", "[ping][disconnect]")
{
    CHECK(type_of(decode_one({0xC0, 0x00})) == packet_type::pingreq);   // PINGREQ
    CHECK(type_of(decode_one({0xD0, 0x00})) == packet_type::pingresp);  // PINGRESP
    CHECK(type_of(decode_one({0xE0, 0x00})) == packet_type::disconnect);  // DISCONNECT
}

TEST_CASE("Back-to-back empty packets in one chunk decode one per feed call", "[ping][disconnect]")
{
    const byte_buffer input = {
        0xC0, 0x00,              // PINGREQ
        0xD0, 0x00,              // PINGRESP
        0xC0, 0x00,              // PINGREQ
        0xE0, 0x00,              // DISCONNECT
    };
    decoder d;
    std::optional<packet> out;
    std::error_code ec;
    const std::uint8_t* p = input.data();
    std::size_t left = input.size();
    std::vector<packet_type> types;
    while (left > 0) {
        const std::size_t n = d.feed(p, left, out, ec);
        REQUIRE_FALSE(ec);
        CHECK(n == 2);  // stops after each packet
        REQUIRE(out);
        types.push_back(type_of(*out));
        p += n;
        left -= n;
    }
    CHECK(types == std::vector<packet_type>{packet_type::pingreq, packet_type::pingresp, packet_type::pingreq,
                                            packet_type::disconnect});
}

TEST_CASE("Empty packets round-trip through the generic encoder", "[ping][disconnect]")
{
    for (const packet& p : {packet{pingreq{}}, packet{pingresp{}}, packet{disconnect{}}}) {
        const auto result = decode_all(encoded(p));
        REQUIRE_FALSE(result.ec);
        REQUIRE(result.packets.size() == 1);
        CHECK(result.packets[0] == p);
    }
}
