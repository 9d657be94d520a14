// A list of brokers to fail over between: connect() tries them in turn, and
// an automatic reconnect moves on to the next one when the current is gone.

#include "fault_test_helpers.hpp"

using namespace fault_test;
using namespace std::chrono_literals;

TEST_CASE("connect with a list skips a dead broker and connects to the next", "[faults][failover]")
{
    mqtt_test::broker b;
    const auto dead_port = mqtt_test::free_loopback_port();
    client_events events;
    mqtt::client c(unique_id("failover"));
    events.attach(c);
    c.connect({{"127.0.0.1", dead_port}, {b.host(), b.port()}}, 30);
    CHECK(c.is_connected());
    REQUIRE(events.connect_fails.wait_for(1));
    CHECK(events.connect_fails.items().at(0).value == std::errc::connection_refused);
    CHECK(events.connects.size() == 1);
    CHECK_FALSE(c.disconnect());
}

TEST_CASE("connect with a list of dead brokers throws naming each of them", "[faults][failover]")
{
    const auto first = mqtt_test::free_loopback_port();
    const auto second = mqtt_test::free_loopback_port();
    mqtt::client c(unique_id("faildead"));
    try {
        c.connect({{"127.0.0.1", first}, {"127.0.0.1", second}}, 30);
        FAIL("connect succeeded with no broker listening");
    } catch (const mqtt::error& e) {
        const std::string what = e.what();
        CHECK(what.find("127.0.0.1:" + std::to_string(first)) != std::string::npos);
        CHECK(what.find("127.0.0.1:" + std::to_string(second)) != std::string::npos);
        CHECK(e.code() == std::errc::connection_refused);
    }
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("an automatic reconnect fails over to the next broker in the list", "[faults][failover]")
{
    mqtt_test::broker first(fault_broker_options());
    mqtt_test::broker second(fault_broker_options());
    const std::string topic = unique_topic("failover");
    recorder<std::string> received;
    client_events events;
    mqtt::client c(unique_id("failsub"));
    events.attach(c);
    c.on_message = [&](mqtt::client&, const mqtt::message& m) { received.push(m.payload); };
    c.reconnect_delay_set(50ms, 200ms);
    c.connect({{first.host(), first.port()}, {second.host(), second.port()}}, 30);
    REQUIRE_FALSE(c.loop_start());
    auto [rc, mid] = c.subscribe(topic, 1);
    REQUIRE_FALSE(rc);
    REQUIRE(events.wait_for_suback(mid));

    first.kill();
    REQUIRE(events.disconnects.wait_for(1));
    REQUIRE(events.connects.wait_for(2));  // to the second broker, which has no session
    CHECK_FALSE(events.connects.items()[1].value);

    // The subscription follows the client to the second broker.
    mqtt::client pub(unique_id("failpub"));
    pub.connect(second.host(), second.port(), 30);
    REQUIRE_FALSE(pub.loop_start());
    const auto deadline = steady::now() + wait_timeout;
    while (received.size() == 0 && steady::now() < deadline) {
        REQUIRE_FALSE(pub.publish(topic, "via second", 1).wait_for_publish(wait_timeout));
        received.wait_for(1, 100ms);
    }
    REQUIRE(received.size() >= 1);
    CHECK(received.items().at(0) == "via second");
    pub.disconnect();
    c.disconnect();
    pub.loop_stop();
    c.loop_stop();
}
