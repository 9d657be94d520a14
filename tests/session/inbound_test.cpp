// Messages from the broker: QoS 0/1/2 delivery and acks, QoS 2 method B
// state across sessions, its bound, and the quiet of disconnect().

#include "session/session_harness.hpp"

using namespace session_test;

namespace {
publish incoming(std::uint16_t id, std::uint8_t qos, std::string payload, bool dup = false)
{
    publish p;
    p.topic = "in";
    p.payload = std::move(payload);
    p.qos = qos;
    p.packet_id = qos > 0 ? id : 0;
    p.dup = dup;
    return p;
}
}  // namespace

TEST_CASE("QoS 0 is delivered, QoS 1 delivered and acked with PUBACK", "[session]")
{
    harness h;
    h.up();
    h.receive(incoming(0, 0, "zero"));
    h.receive(incoming(5, 1, "one"));
    const auto got = h.events_of<mqtt::message>();
    REQUIRE(got.size() == 2);
    CHECK(got[0].payload == "zero");
    CHECK(got[1].payload == "one");
    CHECK(got[1].mid == 5);
    CHECK(h.write() == std::vector<packet>{puback{5}});
}

TEST_CASE("QoS 2 is delivered on PUBLISH, once, however often it is resent before PUBREL (method B)", "[session]")
{
    harness h;
    h.up();
    h.receive(incoming(3, 2, "two"));
    h.receive(incoming(3, 2, "two", true));
    CHECK(h.events_of<mqtt::message>().size() == 1);
    CHECK(h.write() == std::vector<packet>{pubrec{3}, pubrec{3}});
    CHECK(h.s.inbound_qos2() == 1);
    h.receive(pubrel{3});
    CHECK(h.write() == std::vector<packet>{pubcomp{3}});
    CHECK(h.s.inbound_qos2() == 0);
    h.receive(incoming(3, 2, "again"));  // id 3 is free again: a new message
    CHECK(h.events_of<mqtt::message>().size() == 1);
}

TEST_CASE("CONNACK without session drops inbound QoS 2 state: the broker's new id 1 is delivered", "[session]")
{
    harness h;
    h.up(false);
    h.receive(incoming(1, 2, "old"));
    CHECK(h.events_of<mqtt::message>().size() == 1);
    h.lose();
    h.open(false);
    h.connack_and_write(false);  // the broker lost the session
    CHECK(h.s.inbound_qos2() == 0);
    h.receive(incoming(1, 2, "new"));
    const auto got = h.events_of<mqtt::message>();
    REQUIRE(got.size() == 1);
    CHECK(got[0].payload == "new");
}

TEST_CASE("A persistent session keeps QoS 2 state across disconnect() and connect()", "[session]")
{
    harness h;
    h.up(false);
    h.receive(incoming(4, 2, "held"));
    CHECK(h.events_of<mqtt::message>().size() == 1);
    h.write();
    h.s.disconnect(h.now);
    h.write();
    h.lose({});
    CHECK_FALSE(h.s.active());
    h.up(false, true);
    h.receive(incoming(4, 2, "held", true));  // the broker resends before our PUBREC reached it
    CHECK(h.events_of<mqtt::message>().empty());
    CHECK(h.write() == std::vector<packet>{pubrec{4}});
    h.receive(pubrel{4});
    CHECK(h.write() == std::vector<packet>{pubcomp{4}});
}

TEST_CASE("A clean session forgets inbound QoS 2 state when it connects", "[session]")
{
    harness h;
    h.up(false);
    h.receive(incoming(4, 2, "held"));
    h.s.disconnect(h.now);
    h.write();
    h.lose({});
    h.events();
    h.up(true);
    h.receive(incoming(4, 2, "fresh"));
    CHECK(h.events_of<mqtt::message>().size() == 1);
}

TEST_CASE("Going over the inbound QoS 2 bound is a protocol error, not growth", "[session]")
{
    harness h;
    h.s.config().max_inbound_qos2 = 3;
    h.up();
    for (std::uint16_t id = 1; id <= 3; ++id) h.receive(incoming(id, 2, "x"));
    CHECK_FALSE(h.s.close_requested());
    h.receive(incoming(4, 2, "x"));
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::protocol_error);
    CHECK(h.s.inbound_qos2() == 3);
}

TEST_CASE("After disconnect() PUBLISHes from the broker are neither delivered nor acknowledged", "[session]")
{
    harness h;
    h.up();
    h.publish("t", "a", 1, 1);
    h.s.disconnect(h.now);
    const auto sent = only<publish>(h.write());
    h.receive(incoming(8, 1, "late"));
    h.receive(incoming(9, 2, "late"));
    CHECK(h.events_of<mqtt::message>().empty());
    h.receive(puback{sent[0].packet_id});
    CHECK(h.write() == std::vector<packet>{disconnect{}});
}
