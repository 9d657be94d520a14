// protocol::describe: paho's log wording for each packet, and
// describe_encoded over bytes as the client writes them.

#include <mqtt/protocol/describe.hpp>
#include <mqtt/protocol/encoder.hpp>

#include "support/catch.hpp"

#include <string>
#include <vector>

using namespace mqtt::protocol;

TEST_CASE("describe names each packet as paho's on_log does", "[describe]")
{
    connect c;
    c.client_id = "P1";
    CHECK(describe(c) == "CONNECT (u0, p0, wr0, wq0, wf0, c1, k60) client_id='P1'");
    c.username = "user";
    c.password = "secret";
    c.will = will{"w", "gone", 2, true};
    c.clean_session = false;
    c.keepalive = 15;
    const auto with_everything = describe(c);
    CHECK(with_everything == "CONNECT (u1, p1, wr1, wq2, wf1, c0, k15) client_id='P1'");
    CHECK(with_everything.find("secret") == std::string::npos);

    CHECK(describe(connack{true, connack_code::not_authorized}) == "CONNACK (1, 5)");
    CHECK(describe(publish{"house/bulbs/bulb1", "OFF", 1, false, true, 7}) ==
          "PUBLISH (d1, q1, r0, m7), 'house/bulbs/bulb1', ... (3 bytes)");
    CHECK(describe(publish{"t", std::string("\0\1", 2), 0, true, false, 0}) == "PUBLISH (d0, q0, r1, m0), 't', ... (2 bytes)");
    CHECK(describe(puback{3}) == "PUBACK (Mid: 3)");
    CHECK(describe(pubrec{4}) == "PUBREC (Mid: 4)");
    CHECK(describe(pubrel{5}) == "PUBREL (Mid: 5)");
    CHECK(describe(pubcomp{6}) == "PUBCOMP (Mid: 6)");
    CHECK(describe(subscribe{8, {{"a/#", 0}, {"b", 2}}}) == "SUBSCRIBE (d0, m8) [('a/#', 0), ('b', 2)]");
    CHECK(describe(suback{8, {0, 0x80}}) == "SUBACK (Mid: 8) [0, 128]");
    CHECK(describe(unsubscribe{9, {"a/#", "b"}}) == "UNSUBSCRIBE (d0, m9) ['a/#', 'b']");
    CHECK(describe(unsuback{9}) == "UNSUBACK (Mid: 9)");
    CHECK(describe(pingreq{}) == "PINGREQ");
    CHECK(describe(pingresp{}) == "PINGRESP");
    CHECK(describe(disconnect{}) == "DISCONNECT");
}

TEST_CASE("describe_encoded walks packets written back to back", "[describe]")
{
    byte_buffer bytes;
    encode(puback{1}, bytes);
    encode(pingreq{}, bytes);
    encode_publish("a/b", std::string(200, 'x'), 2, false, false, 300, bytes);  // a 2-byte remaining length
    std::vector<std::string> lines;
    const auto collect = [&](std::string line) { lines.push_back(std::move(line)); };

    describe_encoded(bytes.data(), bytes.size(), collect);
    CHECK(lines == std::vector<std::string>{"PUBACK (Mid: 1)", "PINGREQ",
                                            "PUBLISH (d0, q2, r0, m300), 'a/b', ... (200 bytes)"});

    lines.clear();
    describe_encoded(bytes.data(), bytes.size() - 1, collect);  // the last one cut short
    REQUIRE(lines.size() == 3);
    // header byte, 2 length bytes, topic (2 + 3), packet id (2), payload (200); one missing
    CHECK(lines[2] == "incomplete packet (" + std::to_string(1 + 2 + (2 + 3 + 2 + 200) - 1) + " bytes)");

    const std::uint8_t reserved[] = {0xF0, 0x00};
    lines.clear();
    describe_encoded(reserved, sizeof reserved, collect);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("undecodable packet: ", 0) == 0);
}
