// Outgoing messages through the session: QoS 0/1/2 flows, the in-flight
// window, queue bounds, packet ids taken only in flight, resend order.

#include "session/session_harness.hpp"

#include <set>

using namespace session_test;
using mqtt::session::published;

TEST_CASE("QoS 0 completes when its write completes, and fails with connection_lost when the write fails", "[session]")
{
    harness h;
    h.up();
    h.publish("t", "a", 0, 7);
    const auto first = h.write();
    REQUIRE(only<publish>(first).size() == 1);
    CHECK(only<publish>(first)[0].packet_id == 0);
    auto done = h.events_of<published<int>>();
    REQUIRE(done.size() == 1);
    CHECK(done[0].token == 7);
    CHECK_FALSE(done[0].ec);

    h.publish("t", "b", 0, 8);
    h.write(make_error_code(std::errc::broken_pipe));
    done = h.events_of<published<int>>();
    REQUIRE(done.size() == 1);
    CHECK(done[0].token == 8);
    CHECK(done[0].ec == errc::connection_lost);
    CHECK(h.s.close_requested());
}

TEST_CASE("QoS 1 takes a packet id when sent and completes on PUBACK", "[session]")
{
    harness h;
    h.up();
    const int mid = h.publish("t", "a", 1, 1);
    CHECK(h.s.packet_ids_in_use() == 0);  // queued: no id yet
    const auto sent = only<publish>(h.write());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].packet_id != 0);
    CHECK(h.s.packet_ids_in_use() == 1);
    CHECK(h.events_of<published<int>>().empty());
    h.receive(puback{sent[0].packet_id});
    const auto done = h.events_of<published<int>>();
    REQUIRE(done.size() == 1);
    CHECK(done[0].mid == mid);
    CHECK(done[0].token == 1);
    CHECK_FALSE(done[0].ec);
    CHECK(h.s.packet_ids_in_use() == 0);
}

TEST_CASE("QoS 2 goes PUBLISH, PUBREC, PUBREL, PUBCOMP and completes once", "[session]")
{
    harness h;
    h.up();
    h.publish("t", "a", 2, 3);
    const auto sent = only<publish>(h.write());
    REQUIRE(sent.size() == 1);
    const auto id = sent[0].packet_id;
    h.receive(pubrec{id});
    CHECK(h.write() == std::vector<packet>{pubrel{id}});
    h.receive(pubrec{id});  // a duplicate PUBREC is answered again
    CHECK(h.write() == std::vector<packet>{pubrel{id}});
    CHECK(h.events_of<published<int>>().empty());
    h.receive(pubcomp{id});
    const auto done = h.events_of<published<int>>();
    REQUIRE(done.size() == 1);
    CHECK(done[0].token == 3);
    h.receive(pubcomp{id});  // late duplicate: logged, ignored
    CHECK(h.events_of<published<int>>().empty());
}

TEST_CASE("The in-flight window holds back QoS 1 beyond max_inflight, in FIFO order", "[session]")
{
    harness h;
    h.s.config().max_inflight = 2;
    h.up();
    for (int i = 0; i < 5; ++i) h.publish("t", std::to_string(i), 1, i);
    auto sent = only<publish>(h.write());
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].payload == "0");
    CHECK(sent[1].payload == "1");
    CHECK(h.s.queued() == 3);
    h.receive(puback{sent[0].packet_id});
    sent = only<publish>(h.write());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].payload == "2");
}

TEST_CASE("Queued messages hold no packet id: 300 000 QoS 0 and 100 000 QoS 1 queue with no count bound", "[session]")
{
    harness h(false);
    h.s.config().max_queued = 0;
    h.up();
    h.s.link_closed(make_error_code(std::errc::connection_reset), h.now);  // offline: everything queues
    byte_buffer qos0;
    encode_publish("t", "x", 0, false, false, 0, qos0);
    byte_buffer qos1;
    encode_publish("t", "x", 1, false, false, 1, qos1);
    for (int i = 0; i < 300000; ++i) REQUIRE_FALSE(h.s.publish(qos0, 0, i, h.dropped).ec);
    for (int i = 0; i < 100000; ++i) REQUIRE_FALSE(h.s.publish(qos1, 1, i, h.dropped).ec);
    CHECK(h.s.queued() == 400000);
    CHECK(h.s.packet_ids_in_use() == 0);
}

TEST_CASE("More QoS 1 messages than there are packet ids all go out, ids reused only after their ack", "[session]")
{
    harness h(false);
    h.s.config().max_queued = 0;
    h.s.config().max_inflight = 65535;
    h.up();
    for (int i = 0; i < 70000; ++i) h.publish("t", "x", 1, i);
    std::size_t acked = 0;
    std::set<std::uint16_t> live;
    for (int round = 0; round < 200 && acked < 70000; ++round) {
        for (const auto& p : only<publish>(h.write())) {
            REQUIRE(live.insert(p.packet_id).second);  // never an id still in use
        }
        for (auto id : std::vector<std::uint16_t>(live.begin(), live.end())) {
            h.receive(puback{id});
            live.erase(id);
            ++acked;
        }
    }
    CHECK(acked == 70000);
    CHECK(h.events_of<published<int>>().size() == 70000);
}

TEST_CASE("The byte bound refuses or drops the oldest, as the policy says", "[session]")
{
    harness h;
    byte_buffer one;
    encode_publish("t", std::string(100, 'x'), 0, false, false, 0, one);
    h.s.config().max_queued_bytes = one.size() * 2;
    h.s.begin();
    REQUIRE_FALSE(h.s.publish(one, 0, 1, h.dropped).ec);
    REQUIRE_FALSE(h.s.publish(one, 0, 2, h.dropped).ec);
    CHECK(h.s.publish(one, 0, 3, h.dropped).ec == errc::queue_full);
    h.s.config().policy = mqtt::queue_policy::drop_oldest;
    REQUIRE_FALSE(h.s.publish(one, 0, 4, h.dropped).ec);
    CHECK(h.dropped == std::vector<int>{1});
    CHECK(h.s.queued() == 2);
}

TEST_CASE("After a reconnect PUBRELs go in PUBREC order, then PUBLISHes with DUP in their first order and ids",
          "[session]")
{
    harness h;
    h.up(false);
    for (int i = 0; i < 4; ++i) h.publish("t", std::to_string(i), 2, i);
    const auto first = only<publish>(h.write());
    REQUIRE(first.size() == 4);
    // PUBRECs for messages 2 then 0; 1 and 3 stay unacknowledged.
    h.receive(pubrec{first[2].packet_id});
    h.receive(pubrec{first[0].packet_id});
    h.write();
    h.lose();
    h.open(false);
    const auto resent = h.connack_and_write(true);
    REQUIRE(resent.size() == 4);
    CHECK(resent[0] == packet{pubrel{first[2].packet_id}});
    CHECK(resent[1] == packet{pubrel{first[0].packet_id}});
    const auto again = only<publish>(resent);
    REQUIRE(again.size() == 2);
    CHECK(again[0].payload == "1");
    CHECK(again[0].packet_id == first[1].packet_id);
    CHECK(again[0].dup);
    CHECK(again[1].payload == "3");
    CHECK(again[1].packet_id == first[3].packet_id);
}

TEST_CASE("An ack that arrives while its PUBLISH is still being written frees nothing the write uses", "[session]")
{
    harness h;
    h.up();
    h.publish("t", std::string(1000, 'p'), 1, 1);
    const auto sent = only<publish>(h.start_write());
    REQUIRE(sent.size() == 1);
    h.receive(puback{sent[0].packet_id});
    std::vector<byte_buffer> recycled;
    h.s.take_recycled(recycled);
    CHECK(recycled.empty());  // still pointed to by the write
    h.s.write_done({}, h.now);
    h.s.take_recycled(recycled);
    CHECK(recycled.size() == 1);
}

TEST_CASE("drop_oldest drops nothing when dropping every queued message would not make room", "[session]")
{
    harness h;
    byte_buffer small;
    encode_publish("t", "x", 0, false, false, 0, small);
    h.s.begin();
    h.s.subscribe({{"a/very/long/topic/filter/that/fills/the/queue", 0}});
    h.s.config().policy = mqtt::queue_policy::drop_oldest;
    h.s.config().max_queued_bytes = h.s.queued_bytes() + small.size();
    REQUIRE_FALSE(h.s.publish(small, 0, 1, h.dropped).ec);
    byte_buffer big;
    encode_publish("t", std::string(40, 'y'), 0, false, false, 0, big);
    CHECK(h.s.publish(big, 0, 2, h.dropped).ec == errc::queue_full);
    CHECK(h.dropped.empty());  // message 1 is still queued
    CHECK(h.s.queued() == 2);
}
