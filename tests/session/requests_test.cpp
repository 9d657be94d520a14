// SUBSCRIBE / UNSUBSCRIBE through cuts and reconnects, and which
// subscriptions the session renews.

#include "session/session_harness.hpp"

using namespace session_test;
using mqtt::session::published;
using mqtt::session::resubscribe_due;
using mqtt::session::subscribed;
using mqtt::session::unsubscribed;

namespace {
std::vector<subscription> topics(std::vector<std::pair<std::string, std::uint8_t>> list)
{
    std::vector<subscription> out;
    for (auto& [f, q] : list) out.push_back({f, q});
    return out;
}
}  // namespace

TEST_CASE("A SUBSCRIBE cut before its SUBACK keeps its packet id; no PUBLISH takes it meanwhile", "[session]")
{
    harness h;
    h.up();
    const int mid = h.s.subscribe(topics({{"a", 1}})).mid;
    const auto sub = only<subscribe>(h.write());
    REQUIRE(sub.size() == 1);
    const auto sub_id = sub[0].packet_id;
    h.lose();
    // Offline: many QoS 1 queue; after the reconnect none may take sub_id.
    for (int i = 0; i < 100; ++i) h.publish("t", "x", 1, i);
    h.open();
    const auto after = h.connack_and_write();
    const auto resent = only<subscribe>(after);
    REQUIRE(resent.size() == 1);
    CHECK(resent[0].packet_id == sub_id);
    for (const auto& p : only<publish>(after)) CHECK(p.packet_id != sub_id);
    h.events();
    h.receive(suback{sub_id, {1}});
    const auto acks = h.events_of<subscribed>();
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].mid == mid);
    CHECK(acks[0].granted_qos == std::vector<int>{1});
}

TEST_CASE("A SUBSCRIBE cut before SUBACK goes again once after a sessionless reconnect; on_subscribe fires once",
          "[session]")
{
    harness h;
    h.up();
    h.s.subscribe(topics({{"a", 0}}));
    const auto first = only<subscribe>(h.write());
    REQUIRE(first.size() == 1);
    h.receive(suback{first[0].packet_id, {0}});
    const int mid = h.s.subscribe(topics({{"b", 2}})).mid;
    h.write();
    h.events();
    h.lose();
    h.open();
    auto after = h.connack_and_write();
    const auto b_resent = only<subscribe>(after);
    REQUIRE(b_resent.size() == 1);
    CHECK(b_resent[0].subscriptions == topics({{"b", 2}}));
    auto ev = h.events();
    REQUIRE(std::any_of(ev.begin(), ev.end(), [](const event& e) { return std::holds_alternative<resubscribe_due>(e); }));
    h.s.resubscribe();
    after = h.write();
    const auto renewed = only<subscribe>(after);
    REQUIRE(renewed.size() == 1);  // only a: b is awaiting its SUBACK already
    CHECK(renewed[0].subscriptions == topics({{"a", 0}}));
    h.receive(suback{renewed[0].packet_id, {0}});
    CHECK(h.events_of<subscribed>().empty());  // a granted renewal is not the user's to hear about
    h.receive(suback{b_resent[0].packet_id, {2}});
    const auto acks = h.events_of<subscribed>();
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].mid == mid);
    CHECK(acks[0].granted_qos == std::vector<int>{2});
}

TEST_CASE("A refused resubscription is reported with 128 and a warning, and forgotten", "[session]")
{
    harness h;
    h.up();
    h.s.subscribe(topics({{"a", 1}}));
    const auto first = only<subscribe>(h.write());
    h.receive(suback{first[0].packet_id, {1}});
    h.lose();
    h.open();
    h.connack_and_write();
    h.events();
    h.s.resubscribe();
    const auto renewed = only<subscribe>(h.write());
    REQUIRE(renewed.size() == 1);
    h.receive(suback{renewed[0].packet_id, {suback_failure}});
    const auto ev = h.events();
    CHECK_FALSE(log_lines(ev, mqtt::log_level::warning).empty());
    std::vector<subscribed> acks;
    for (const auto& e : ev)
        if (auto* s = std::get_if<subscribed>(&e)) acks.push_back(*s);
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].granted_qos == std::vector<int>{0x80});
    CHECK(h.s.subscriptions().empty());
}

TEST_CASE("disconnect() ends the session's memory: the next connect renews no subscription", "[session]")
{
    harness h;
    h.up();
    h.s.subscribe(topics({{"a", 1}}));
    const auto sub = only<subscribe>(h.write());
    h.receive(suback{sub[0].packet_id, {1}});
    REQUIRE_FALSE(h.s.disconnect(h.now));
    CHECK(only<disconnect>(h.write()).size() == 1);
    h.lose({});
    CHECK_FALSE(h.s.active());
    h.events();
    CHECK(h.up().empty());
    for (const auto& e : h.events()) CHECK_FALSE(std::holds_alternative<resubscribe_due>(e));
    h.s.resubscribe();
    CHECK(h.write().empty());
}

TEST_CASE("Filters subscribed in on_connect are not renewed a second time (the paho idiom)", "[session]")
{
    harness h;
    h.up();
    h.s.subscribe(topics({{"a", 1}, {"b", 1}}));
    const auto sub = only<subscribe>(h.write());
    h.receive(suback{sub[0].packet_id, {1, 1}});
    h.lose();
    h.open();
    h.connack_and_write();
    h.events();
    // on_connect runs before resubscribe_due is handled, and subscribes to a again.
    h.s.subscribe(topics({{"a", 1}}));
    h.s.resubscribe();
    const auto out = only<subscribe>(h.write());
    REQUIRE(out.size() == 2);
    std::size_t a_count = 0;
    for (const auto& s : out)
        for (const auto& t : s.subscriptions) a_count += t.filter == "a";
    CHECK(a_count == 1);
}

TEST_CASE("A SUBACK whose count differs from the SUBSCRIBE's filters is a protocol error", "[session]")
{
    harness h;
    h.up();
    h.s.subscribe(topics({{"a", 1}, {"b", 1}}));
    const auto sub = only<subscribe>(h.write());
    h.receive(suback{sub[0].packet_id, {1}});
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::protocol_error);
}

TEST_CASE("UNSUBSCRIBE completes on UNSUBACK and forgets the filter", "[session]")
{
    harness h;
    h.up();
    h.s.subscribe(topics({{"a", 1}}));
    const int mid = h.s.unsubscribe({"a"}).mid;
    const auto out = h.write();
    const auto unsub = only<unsubscribe>(out);
    REQUIRE(unsub.size() == 1);
    CHECK(h.s.subscriptions().empty());
    h.receive(unsuback{unsub[0].packet_id});
    const auto acks = h.events_of<unsubscribed>();
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].mid == mid);
}

TEST_CASE("An ack for an unknown packet id is logged and ignored", "[session]")
{
    harness h;
    h.up();
    h.events();
    h.receive(puback{77});
    h.receive(pubrec{78});
    h.receive(pubcomp{79});
    h.receive(suback{80, {0}});
    h.receive(unsuback{81});
    const auto ev = h.events();
    CHECK(log_lines(ev, mqtt::log_level::warning).size() == 5);
    CHECK_FALSE(h.s.close_requested());
    CHECK(h.write().empty());  // not even a PUBREL for the unknown PUBREC
}

TEST_CASE("SUBSCRIBE and UNSUBSCRIBE pass publishes the in-flight window holds back; publishes keep their order",
          "[session]")
{
    harness h;
    h.s.config().max_inflight = 2;
    h.up();
    for (int i = 0; i < 5; ++i) h.publish("t", std::to_string(i), 1, i);
    h.publish("t", "q0", 0, 5);  // behind the held-back QoS 1: waits too
    const int sub = h.s.subscribe(topics({{"a", 1}})).mid;
    const int unsub = h.s.unsubscribe({"b"}).mid;
    const auto out = h.write();
    const auto sent = only<publish>(out);
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].payload == "0");
    CHECK(sent[1].payload == "1");
    const auto subs = only<subscribe>(out);
    REQUIRE(subs.size() == 1);
    CHECK(subs[0].subscriptions[0].filter == "a");
    REQUIRE(only<unsubscribe>(out).size() == 1);
    CHECK(h.s.queued() == 4);  // "2", "3", "4" and the QoS 0 message

    h.receive(suback{subs[0].packet_id, {1}});
    CHECK(h.events_of<subscribed>().at(0).mid == sub);
    h.receive(unsuback{only<unsubscribe>(out)[0].packet_id});
    CHECK(h.events_of<unsubscribed>().at(0).mid == unsub);

    // The window opens: the rest goes in the order it was queued.
    h.receive(puback{sent[0].packet_id});
    h.receive(puback{sent[1].packet_id});
    const auto rest = only<publish>(h.write());
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].payload == "2");
    CHECK(rest[1].payload == "3");
    h.receive(puback{rest[0].packet_id});
    const auto last = only<publish>(h.write());
    REQUIRE(last.size() == 2);
    CHECK(last[0].payload == "4");
    CHECK(last[1].payload == "q0");
}
