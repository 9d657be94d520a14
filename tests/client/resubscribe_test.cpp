// Automatic resubscription against a real Mosquitto, with paho's idiom of
// subscribing in on_connect.

#include "client_test_helpers.hpp"

using namespace client_test;
using mqtt_test::broker;

TEST_CASE("Subscribing in on_connect (paho's idiom): each SUBSCRIBE once per connection, each retained copy once",
          "[client][resubscribe]")
{
    broker b;  // persistence on: the retained message survives the restart
    const std::string topic = unique_topic("idiom");
    {
        mqtt::client pub(unique_id("idiompub"));
        pub.connect(b.host(), b.port());
        REQUIRE_FALSE(pub.loop_start());
        REQUIRE_FALSE(pub.publish(topic, "retained", 1, true).wait_for_publish(wait_timeout));
        REQUIRE_FALSE(pub.disconnect());
    }

    const std::string id = unique_id("idiom");
    callback_log log;
    mqtt::client sub(id);  // clean session: every reconnect finds no session
    log.attach(sub);
    sub.reconnect_delay_set(50ms, 100ms);
    sub.on_connect = [&](mqtt::client& c, bool sp, int rc) {
        log.connects.push({sp, rc});
        c.subscribe(topic, 1);
    };
    sub.connect(b.host(), b.port());
    REQUIRE_FALSE(sub.loop_start());
    REQUIRE(log.messages.wait_for(1));

    b.stop();
    REQUIRE(log.disconnects.wait_for(1));
    b.start();
    REQUIRE(log.connects.wait_for(2));
    CHECK_FALSE(log.connects.at(1).session_present);
    REQUIRE(log.messages.wait_for(2));
    REQUIRE(log.subscribed.wait_for(2));

    // A marker published after both SUBACKs arrives after anything a
    // duplicate SUBSCRIBE would have brought.
    mqtt::client pub(unique_id("idiompub2"));
    pub.connect(b.host(), b.port());
    REQUIRE_FALSE(pub.loop_start());
    REQUIRE_FALSE(pub.publish(topic, "marker", 1).wait_for_publish(wait_timeout));
    REQUIRE(log.messages.wait_for(3));
    std::size_t retained_copies = 0;
    for (const auto& m : log.messages.items()) retained_copies += m.payload == "retained";
    CHECK(retained_copies == 2);
    CHECK(log.messages.items().back().payload == "marker");
    // The broker saw one SUBSCRIBE per connection.
    CHECK(broker_log_count(b, "Received SUBSCRIBE from " + id) == 2);
    CHECK(log.subscribed.size() == 2);
    REQUIRE_FALSE(pub.disconnect());
    REQUIRE_FALSE(sub.disconnect());
}
