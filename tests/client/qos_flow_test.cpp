// QoS 1 and 2 flows at volume, the in-flight window, the outgoing buffer's
// bound, disconnect's flush, and persistent sessions.

#include "client_test_helpers.hpp"

#include <string>
#include <vector>

using namespace client_test;
using mqtt_test::broker;
using mqtt_test::broker_options;

namespace {

// Mosquitto drops QoS 1/2 messages for a subscriber once 1000 are queued
// for it (max_queued_messages); a burst of 10 000 may exceed that, which
// would be the broker's choice, not a client bug.
broker_options unbounded_queue()
{
    broker_options o;
    o.extra_config = {"max_queued_messages 0"};
    return o;
}

void bulk(int qos, int count)
{
    broker b(unbounded_queue());
    const auto topic = unique_topic("bulk");
    test_client sub(unique_id("bsub"));
    sub.start(b);
    sub.subscribe_and_wait(topic + "/#", qos);

    test_client pub(unique_id("bpub"));
    pub.start(b);

    std::vector<mqtt::message_info> infos;
    infos.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        infos.push_back(pub.client.publish(topic + "/data", std::to_string(i), qos));
        REQUIRE_FALSE(infos.back().rc());
    }
    // Every message_info completes, successfully.
    const auto deadline = steady::now() + bulk_timeout;
    for (int i = 0; i < count; ++i) {
        INFO("message " << i);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
        REQUIRE_FALSE(infos[static_cast<std::size_t>(i)].wait_for_publish(std::max(left, 0ms)));
        REQUIRE(infos[static_cast<std::size_t>(i)].is_published());
    }
    // on_publish once per message, in the order of the acknowledgements,
    // which the broker sends in publish order.
    REQUIRE(pub.log.published.wait_for(static_cast<std::size_t>(count), bulk_timeout));
    const auto acked = pub.log.published.items();
    CHECK(acked.size() == static_cast<std::size_t>(count));
    std::size_t mismatched = 0;
    for (std::size_t i = 0; i < acked.size() && i < infos.size(); ++i)
        if (acked[i] != infos[i].mid()) ++mismatched;
    CHECK(mismatched == 0);

    // A marker after the burst: once it arrived, every earlier message and
    // any duplicate of one has arrived too.
    pub.client.publish(topic + "/end", "end", qos);
    REQUIRE(sub.messages().wait_for_topic(topic + "/end", bulk_timeout));
    const auto got = sub.messages().items();
    REQUIRE(got.size() == static_cast<std::size_t>(count) + 1);
    std::size_t out_of_order = 0;
    std::size_t wrong_qos = 0;
    for (int i = 0; i < count; ++i) {
        const auto& m = got[static_cast<std::size_t>(i)];
        if (m.payload != std::to_string(i) || m.topic != topic + "/data") ++out_of_order;
        if (m.qos != qos) ++wrong_qos;
    }
    CHECK(out_of_order == 0);
    CHECK(wrong_qos == 0);
    CHECK(got.back().payload == "end");
}

}  // namespace

TEST_CASE("10 000 QoS 1 messages arrive complete, once, in order", "[client][qos][bulk]")
{
    bulk(1, 10000);
}

TEST_CASE("10 000 QoS 2 messages arrive complete, once, in order", "[client][qos][bulk]")
{
    bulk(2, 10000);
}

TEST_CASE("10 000 QoS 0 messages on loopback arrive in order", "[client][qos][bulk]")
{
    // QoS 0 may lose messages in general, but not on an idle loopback with
    // an unbounded broker queue; mostly this shows the batching keeps order.
    bulk(0, 10000);
}

TEST_CASE("an in-flight window of 1 still delivers everything in order", "[client][qos]")
{
    broker b(unbounded_queue());
    const auto topic = unique_topic("win");
    test_client sub(unique_id("winsub"));
    sub.start(b);
    sub.subscribe_and_wait(topic, 2);

    test_client pub(unique_id("winpub"));
    pub.client.max_inflight_messages_set(1);
    pub.start(b);
    std::vector<mqtt::message_info> infos;
    // 100 at QoS 1, then 100 at QoS 2: with a window of 1 the last QoS 1
    // message is acknowledged before the first QoS 2 one is sent, so the
    // order holds across the two.
    for (int i = 0; i < 200; ++i) infos.push_back(pub.client.publish(topic, std::to_string(i), i < 100 ? 1 : 2));
    REQUIRE(sub.messages().wait_for(200));
    const auto payloads = sub.messages().payloads();
    for (int i = 0; i < 200; ++i) CHECK(payloads[static_cast<std::size_t>(i)] == std::to_string(i));
    for (auto& info : infos) CHECK_FALSE(info.wait_for_publish(wait_timeout));
}

TEST_CASE("disconnect() flushes what is queued before saying goodbye", "[client][qos]")
{
    broker b(unbounded_queue());
    const auto topic = unique_topic("flush");
    test_client sub(unique_id("flsub"));
    sub.start(b);
    sub.subscribe_and_wait(topic, 2);

    test_client pub(unique_id("flpub"));
    pub.start(b);
    std::vector<mqtt::message_info> infos;
    // QoS 1 and 2 mixed. Order is not checked here: Mosquitto itself may
    // send a message it queued for the subscriber after a later one of the
    // other QoS (seen in its log); the bulk tests check order per QoS.
    for (int i = 0; i < 300; ++i) infos.push_back(pub.client.publish(topic, std::to_string(i), 1 + i % 2));
    CHECK_FALSE(pub.client.disconnect());  // returns once everything went out
    std::size_t unpublished = 0;
    for (auto& info : infos)
        if (!info.is_published() || info.rc()) ++unpublished;
    CHECK(unpublished == 0);
    INFO("broker dir " << b.directory());
    REQUIRE(sub.messages().wait_for(300));
    std::vector<int> seen(300, 0);
    std::size_t wrong_qos = 0;
    for (const auto& m : sub.messages().items()) {
        const int i = std::stoi(m.payload);
        ++seen.at(static_cast<std::size_t>(i));
        if (m.qos != 1 + i % 2) ++wrong_qos;
    }
    CHECK(seen == std::vector<int>(300, 1));  // each exactly once
    CHECK(wrong_qos == 0);
    CHECK(pub.log.published.wait_for(300));  // on_publish once per message
}

TEST_CASE("max_queued_messages_set bounds the outgoing buffer: errc::queue_full", "[client][qos]")
{
    broker b;
    const auto topic = unique_topic("qfull");
    test_client sub(unique_id("qfsub"));
    sub.start(b);
    sub.subscribe_and_wait(topic, 1);

    test_client c(unique_id("qfull"));
    c.client.max_queued_messages_set(2);
    // connect_async without a loop: nothing is written yet, the buffer fills.
    REQUIRE_FALSE(c.client.connect_async(b.host(), b.port()));
    auto first = c.client.publish(topic, "1", 1);
    auto second = c.client.publish(topic, "2", 1);
    auto third = c.client.publish(topic, "3", 1);
    CHECK_FALSE(first.rc());
    CHECK_FALSE(second.rc());
    CHECK(third.rc() == mqtt::errc::queue_full);
    CHECK(third.wait_for_publish(0ms) == mqtt::errc::queue_full);  // completed, failed: no wait
    CHECK_FALSE(third.is_published());
    CHECK(c.client.queued_messages() == 2);

    REQUIRE_FALSE(c.client.loop_start());
    CHECK_FALSE(first.wait_for_publish(wait_timeout));
    CHECK_FALSE(second.wait_for_publish(wait_timeout));
    REQUIRE(sub.messages().wait_for(2));
    CHECK(sub.messages().payloads() == std::vector<std::string>{"1", "2"});
}

TEST_CASE("Queued messages hold no packet id: 300 000 QoS 0 and 100 000 QoS 1 queue at once, and all go out",
          "[client][qos][bulk]")
{
    broker b;
    mqtt::client c(unique_id("manyq"));
    c.max_queued_messages_set(0);  // no count bound; the byte bound stays
    c.connect(b.host(), b.port());  // no loop thread yet: everything stays queued
    const std::string topic = unique_topic("manyq");
    for (int i = 0; i < 300000; ++i) {
        const auto info = c.publish(topic, "0", 0);
        if (info.rc()) FAIL("QoS 0 message " << i << " refused: " << info.rc().message());
    }
    std::vector<mqtt::message_info> qos1;
    qos1.reserve(100000);
    for (int i = 0; i < 100000; ++i) {
        qos1.push_back(c.publish(topic, "1", 1));
        if (qos1.back().rc()) FAIL("QoS 1 message " << i << " refused: " << qos1.back().rc().message());
    }
    CHECK(c.queued_messages() == 400000);
    REQUIRE_FALSE(c.loop_start());
    // FIFO: once the last QoS 1 is acknowledged, everything before it went out.
    CHECK_FALSE(qos1.back().wait_for_publish(60s));
    for (auto& info : qos1) REQUIRE(info.is_published());
    CHECK(c.queued_messages() == 0);
    CHECK_FALSE(c.disconnect());
}

TEST_CASE("persistent session: messages published while away arrive on reconnect", "[client][session]")
{
    broker b;
    const auto topic = unique_topic("sess");
    const auto id = unique_id("persist");

    {
        test_client p(id, false);
        p.start(b);
        REQUIRE(p.log.connects.wait_for(1));
        CHECK_FALSE(p.log.connects.at(0).session_present);  // first time: no session yet
        p.subscribe_and_wait(topic, 1);
        CHECK_FALSE(p.client.disconnect());
    }

    {
        test_client other(unique_id("sessother"));
        other.start(b);
        REQUIRE_FALSE(other.client.publish(topic, "while away 1", 1).wait_for_publish(wait_timeout));
        REQUIRE_FALSE(other.client.publish(topic, "while away 2", 2).wait_for_publish(wait_timeout));
        REQUIRE_FALSE(other.client.publish(topic, "qos 0: not kept", 0).wait_for_publish(wait_timeout));
        CHECK_FALSE(other.client.disconnect());
    }

    test_client back(id, false);
    back.start(b);
    REQUIRE(back.log.connects.wait_for(1));
    CHECK(back.log.connects.at(0).session_present);
    REQUIRE(back.messages().wait_for(2));
    const auto got = back.messages().items();
    CHECK(got[0].payload == "while away 1");
    CHECK(got[0].qos == 1);
    CHECK(got[1].payload == "while away 2");
    CHECK(got[1].qos == 1);  // granted QoS 1

    // The subscription is part of the session: new messages still arrive,
    // without subscribing again.
    back.client.publish(topic, "live", 1);
    REQUIRE(back.messages().wait_for_topic(topic));
    REQUIRE(back.messages().wait_until([](const std::vector<mqtt::message>& ms) {
        return !ms.empty() && ms.back().payload == "live";
    }));
    // Exactly these three: nothing twice, QoS 0 was not queued.
    CHECK(back.messages().size() == 3);
}

TEST_CASE("persistent session kept across the same client object's reconnect", "[client][session]")
{
    broker b;
    const auto topic = unique_topic("sess2");
    const auto id = unique_id("persist2");
    test_client p(id, false);
    p.start(b);
    p.subscribe_and_wait(topic, 2);
    CHECK_FALSE(p.client.disconnect());

    test_client other(unique_id("s2other"));
    other.start(b);
    REQUIRE_FALSE(other.client.publish(topic, "away", 2).wait_for_publish(wait_timeout));

    p.client.reconnect();
    REQUIRE(p.log.connects.wait_for(2));
    CHECK(p.log.connects.at(1).session_present);
    REQUIRE(p.messages().wait_for(1));
    CHECK(p.messages().at(0).payload == "away");
    CHECK(p.messages().at(0).qos == 2);
}

TEST_CASE("clean session: nothing is kept while away", "[client][session]")
{
    broker b;
    const auto topic = unique_topic("clean");
    const auto id = unique_id("clean");
    {
        test_client p(id, true);
        p.start(b);
        p.subscribe_and_wait(topic, 1);
        CHECK_FALSE(p.client.disconnect());
    }
    test_client other(unique_id("clother"));
    other.start(b);
    REQUIRE_FALSE(other.client.publish(topic, "lost", 1).wait_for_publish(wait_timeout));

    test_client back(id, true);
    back.start(b);
    REQUIRE(back.log.connects.wait_for(1));
    CHECK_FALSE(back.log.connects.at(0).session_present);
    back.subscribe_and_wait(topic + "/marker", 0);
    back.client.publish(topic + "/marker", "m", 0);
    REQUIRE(back.messages().wait_for_topic(topic + "/marker"));
    CHECK(back.messages().size() == 1);
}
