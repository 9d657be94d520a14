// Round trips through a real Mosquitto: QoS 0/1/2 x payload sizes, binary
// payloads, retained messages and clearing them, the will, unsubscribe.

#include "client_test_helpers.hpp"

#include <map>
#include <string>
#include <vector>

using namespace client_test;
using mqtt_test::broker;

namespace {

// Sizes at the edges of the remaining-length encoding (1/2/3-byte lengths)
// and a large one.
const std::vector<std::size_t> payload_sizes = {0, 1, 127, 128, 16383, 16384, 1024 * 1024};

void round_trip(int qos)
{
    broker b;
    const auto topic = unique_topic("rt");
    test_client sub(unique_id("rtsub"));
    sub.start(b);
    sub.subscribe_and_wait(topic + "/#", 2);  // granted 2: delivered at the publisher's QoS

    test_client pub(unique_id("rtpub"));
    pub.start(b);

    std::vector<mqtt::message_info> infos;
    for (std::size_t size : payload_sizes) {
        infos.push_back(pub.client.publish(topic + "/" + std::to_string(size), pattern_payload(size), qos));
        CHECK_FALSE(infos.back().rc());
    }
    REQUIRE(sub.messages().wait_for(payload_sizes.size()));
    const auto got = sub.messages().items();
    REQUIRE(got.size() == payload_sizes.size());
    for (std::size_t i = 0; i < payload_sizes.size(); ++i) {
        const auto size = payload_sizes[i];
        INFO("QoS " << qos << ", payload of " << size << " bytes");
        CHECK(got[i].topic == topic + "/" + std::to_string(size));
        CHECK(got[i].payload.size() == size);
        CHECK(got[i].payload == pattern_payload(size));
        CHECK(got[i].qos == qos);
        CHECK_FALSE(got[i].retain);
        CHECK_FALSE(got[i].dup);
        if (qos == 0) {
            CHECK(got[i].mid == 0);
        } else {
            CHECK(got[i].mid > 0);
        }
    }
    for (auto& info : infos) {
        CHECK_FALSE(info.wait_for_publish(wait_timeout));
        CHECK(info.is_published());
        CHECK_FALSE(info.rc());
    }
    // Nothing twice.
    CHECK(sub.messages().size() == payload_sizes.size());
}

}  // namespace

TEST_CASE("round trip QoS 0, payloads of 0 B to 1 MiB", "[client][pubsub]")
{
    round_trip(0);
}

TEST_CASE("round trip QoS 1, payloads of 0 B to 1 MiB", "[client][pubsub]")
{
    round_trip(1);
}

TEST_CASE("round trip QoS 2, payloads of 0 B to 1 MiB", "[client][pubsub]")
{
    round_trip(2);
}

TEST_CASE("binary payload with NUL bytes and every byte value arrives intact", "[client][pubsub]")
{
    broker b;
    const auto topic = unique_topic("bin");
    test_client c(unique_id("bin"));
    c.start(b);
    c.subscribe_and_wait(topic, 2);

    std::string payload;
    for (int i = 0; i < 256; ++i) payload.push_back(static_cast<char>(i));
    payload += std::string("\0\0\0", 3);
    payload += std::string("\xff\xfe\x00\x80", 4);
    for (int qos = 0; qos <= 2; ++qos) c.client.publish(topic, payload, qos);
    REQUIRE(c.messages().wait_for(3));
    for (const auto& m : c.messages().items()) {
        CHECK(m.payload.size() == payload.size());
        CHECK(m.payload == payload);
    }
}

TEST_CASE("UTF-8 topic names and the subscriber's granted QoS", "[client][pubsub]")
{
    broker b;
    const auto topic = unique_topic("utf8") + "/h\xc3\xa4user/\xe2\x82\xac/\xf0\x9f\x92\xa1";
    test_client c(unique_id("utf8"));
    c.start(b);
    c.subscribe_and_wait(topic, 1);  // granted 1: a QoS 2 publish arrives as QoS 1
    c.client.publish(topic, "two", 2);
    c.client.publish(topic, "zero", 0);
    REQUIRE(c.messages().wait_for(2));
    // Order across QoS levels is not promised (QoS 2 is delivered on PUBREL).
    for (const auto& m : c.messages().items()) {
        CHECK(m.topic == topic);
        if (m.payload == "two") {
            CHECK(m.qos == 1);
        } else {
            CHECK(m.payload == "zero");
            CHECK(m.qos == 0);
        }
    }
}

TEST_CASE("retained message reaches a late subscriber with retain set; an empty retained payload clears it",
          "[client][pubsub][retain]")
{
    broker b;
    const auto topic = unique_topic("ret");
    test_client pub(unique_id("retpub"));
    pub.start(b);
    auto info = pub.client.publish(topic + "/bulb", "ON", 1, true);
    REQUIRE_FALSE(info.wait_for_publish(wait_timeout));

    {
        test_client late(unique_id("retlate"));
        late.start(b);
        late.subscribe_and_wait(topic + "/#", 1);
        REQUIRE(late.messages().wait_for(1));
        const auto m = late.messages().at(0);
        CHECK(m.topic == topic + "/bulb");
        CHECK(m.payload == "ON");
        CHECK(m.retain);
        CHECK(m.qos == 1);

        // A subscriber that is already there sees a retained publish with
        // retain 0 (MQTT 3.1.1, 3.3.1.3).
        pub.client.publish(topic + "/bulb", "OFF", 1, true).wait_for_publish(wait_timeout);
        REQUIRE(late.messages().wait_for(2));
        CHECK(late.messages().at(1).payload == "OFF");
        CHECK_FALSE(late.messages().at(1).retain);
    }

    // Clear: an empty retained payload.
    REQUIRE_FALSE(pub.client.publish(topic + "/bulb", "", 1, true).wait_for_publish(wait_timeout));

    test_client later(unique_id("retlater"));
    later.start(b);
    later.subscribe_and_wait(topic + "/#", 1);
    // A marker published after the SUBACK comes after any retained message
    // the broker sends for the subscription.
    REQUIRE_FALSE(later.client.publish(topic + "/marker", "m", 1).wait_for_publish(wait_timeout));
    REQUIRE(later.messages().wait_for_topic(topic + "/marker"));
    const auto got = later.messages().items();
    REQUIRE(got.size() == 1);
    CHECK(got[0].topic == topic + "/marker");
    CHECK_FALSE(got[0].retain);
}

TEST_CASE("the will is published when the client goes away without disconnect()", "[client][pubsub][will]")
{
    broker b;
    const auto topic = unique_topic("will");
    test_client watcher(unique_id("wwatch"));
    watcher.start(b);
    watcher.subscribe_and_wait(topic + "/#", 1);

    auto dying = std::make_unique<mqtt::client>(unique_id("wdie"));
    dying->will_set(topic + "/status", "gone", 1, false);
    dying->connect(b.host(), b.port());
    REQUIRE(dying->loop_start() == std::error_code{});
    REQUIRE(dying->is_connected());

    const auto took = time_of([&] { dying.reset(); });  // destructor: abrupt close
    CHECK(took < 3s);

    REQUIRE(watcher.messages().wait_for(1));
    const auto m = watcher.messages().at(0);
    CHECK(m.topic == topic + "/status");
    CHECK(m.payload == "gone");
    CHECK(m.qos == 1);
}

TEST_CASE("the will is not published after disconnect()", "[client][pubsub][will]")
{
    broker b;
    const auto topic = unique_topic("nowill");
    test_client watcher(unique_id("nwwatch"));
    watcher.start(b);
    watcher.subscribe_and_wait(topic + "/#", 1);

    const auto id = unique_id("nwpolite");
    {
        mqtt::client polite(id);
        polite.will_set(topic + "/status", "gone", 1, false);
        polite.connect(b.host(), b.port());
        REQUIRE_FALSE(polite.loop_start());
        CHECK_FALSE(polite.disconnect());
        CHECK_FALSE(polite.is_connected());
    }
    // The broker handled the DISCONNECT (and so discarded the will) ...
    REQUIRE(wait_for_broker_log(b, "Received DISCONNECT from " + id));
    // ... so a marker published now arrives after any will would have.
    REQUIRE_FALSE(watcher.client.publish(topic + "/marker", "m", 1).wait_for_publish(wait_timeout));
    REQUIRE(watcher.messages().wait_for_topic(topic + "/marker"));
    const auto got = watcher.messages().items();
    REQUIRE(got.size() == 1);
    CHECK(got[0].topic == topic + "/marker");
}

TEST_CASE("will_clear removes the will", "[client][pubsub][will]")
{
    broker b;
    const auto topic = unique_topic("wclr");
    test_client watcher(unique_id("wcwatch"));
    watcher.start(b);
    watcher.subscribe_and_wait(topic + "/#", 1);

    const auto id = unique_id("wcdie");
    {
        mqtt::client c(id);
        c.will_set(topic + "/status", "gone", 1, false);
        c.will_clear();
        c.connect(b.host(), b.port());
        REQUIRE_FALSE(c.loop_start());
    }  // abrupt close, but no will
    REQUIRE(wait_for_broker_to_drop(b, id));
    REQUIRE_FALSE(watcher.client.publish(topic + "/marker", "m", 1).wait_for_publish(wait_timeout));
    REQUIRE(watcher.messages().wait_for_topic(topic + "/marker"));
    CHECK(watcher.messages().size() == 1);
}

TEST_CASE("subscribe to a list, wildcards, unsubscribe", "[client][pubsub]")
{
    broker b;
    const auto topic = unique_topic("list");
    test_client c(unique_id("list"));
    c.start(b);

    auto [rc, mid] = c.client.subscribe({{topic + "/a", 0}, {topic + "/+/x", 1}, {topic + "/deep/#", 2}});
    REQUIRE_FALSE(rc);
    CHECK(mid > 0);
    REQUIRE(c.log.wait_for_suback(mid));
    for (const auto& r : c.log.subscribed.items()) {
        if (r.mid == mid) CHECK(r.granted_qos == std::vector<int>{0, 1, 2});
    }

    c.client.publish(topic + "/a", "1", 2);
    c.client.publish(topic + "/b/x", "2", 2);
    c.client.publish(topic + "/deep", "3", 2);  // '#' includes the parent level
    c.client.publish(topic + "/deep/er/still", "4", 2);
    c.client.publish(topic + "/b/y", "no", 2);  // matches nothing
    // Not subscribed yet. QoS 1: the broker routes it on receipt, before the
    // SUBSCRIBE (a QoS 2 message would be routed on PUBREL, later).
    c.client.publish(topic + "/end", "5", 1);
    c.subscribe_and_wait(topic + "/end", 2);
    c.client.publish(topic + "/end", "6", 2);
    // All QoS 2 from the publisher; delivered at the granted QoS. Order
    // across QoS levels is not promised, so wait for all five.
    REQUIRE(c.messages().wait_for(5));
    REQUIRE(c.messages().wait_for_topic(topic + "/end"));
    std::map<std::string, mqtt::message> by_payload;
    for (const auto& m : c.messages().items()) by_payload[m.payload] = m;
    CHECK(by_payload.size() == 5);
    CHECK(by_payload.count("no") == 0);
    CHECK(by_payload.count("5") == 0);
    CHECK(by_payload["1"].qos == 0);
    CHECK(by_payload["2"].qos == 1);
    CHECK(by_payload["3"].qos == 2);
    CHECK(by_payload["4"].qos == 2);
    CHECK(by_payload["4"].topic == topic + "/deep/er/still");
    CHECK(by_payload["6"].qos == 2);

    // Unsubscribe one filter, then the list.
    auto [urc, umid] = c.client.unsubscribe(topic + "/a");
    REQUIRE_FALSE(urc);
    REQUIRE(c.log.wait_for_unsuback(umid));
    auto [urc2, umid2] = c.client.unsubscribe(std::vector<std::string>{topic + "/+/x", topic + "/deep/#"});
    REQUIRE_FALSE(urc2);
    CHECK(umid2 != umid);
    REQUIRE(c.log.wait_for_unsuback(umid2));

    c.messages().clear();
    c.client.publish(topic + "/a", "gone", 1);
    c.client.publish(topic + "/b/x", "gone", 1);
    c.client.publish(topic + "/deep/er", "gone", 1);
    c.client.publish(topic + "/end", "marker", 1);
    REQUIRE(c.messages().wait_for_topic(topic + "/end"));
    const auto after = c.messages().items();
    REQUIRE(after.size() == 1);
    CHECK(after[0].payload == "marker");
}

TEST_CASE("message_info: mid, rc, is_published, wait_for_publish", "[client][pubsub]")
{
    broker b;
    const auto topic = unique_topic("info");
    test_client c(unique_id("info"));
    c.start(b);
    for (int qos = 0; qos <= 2; ++qos) {
        INFO("QoS " << qos);
        auto info = c.client.publish(topic, "x", qos);
        CHECK(info.mid() > 0);
        CHECK_FALSE(info.rc());
        CHECK_FALSE(info.wait_for_publish(wait_timeout));
        CHECK(info.is_published());
        CHECK_FALSE(info.rc());
        // A second wait returns the same at once.
        CHECK_FALSE(info.wait_for_publish(0ms));
    }
}
