// connect / connect_async / reconnect / disconnect against a real Mosquitto,
// and every way connecting fails: refused port, DNS, timeout, CONNACK codes.

#include "client_test_helpers.hpp"

#include <cerrno>
#include <string>

using namespace client_test;
using mqtt_test::broker;
using mqtt_test::broker_options;

namespace {

std::string endpoint(std::uint16_t port)
{
    return "127.0.0.1:" + std::to_string(port);
}

}  // namespace

TEST_CASE("connect returns once connected and on_connect reports rc 0", "[client][connect]")
{
    broker b;
    test_client c(unique_id("conn"));
    CHECK_FALSE(c.client.is_connected());

    c.client.connect(b.host(), b.port());
    CHECK(c.client.is_connected());  // connect returned after CONNACK, not before

    REQUIRE_FALSE(c.client.loop_start());
    REQUIRE(c.log.connects.wait_for(1));
    const auto r = c.log.connects.at(0);
    CHECK(r.return_code == 0);
    CHECK_FALSE(r.session_present);  // clean session on a fresh broker
    CHECK(c.log.connect_fails.size() == 0);
    CHECK_FALSE(c.client.loop_stop());
}

TEST_CASE("connect with an empty client id gets a broker-assigned one (MQTT 3.1.1)", "[client][connect]")
{
    broker b;
    test_client c("");
    c.start(b);
    const auto topic = unique_topic("empty");
    c.subscribe_and_wait(topic, 1);
    c.client.publish(topic, "x", 1);
    REQUIRE(c.messages().wait_for(1));
    CHECK(c.messages().at(0).payload == "x");
}

TEST_CASE("connect to a closed port throws mqtt::error naming host, port and cause", "[client][connect]")
{
    const auto port = mqtt_test::free_loopback_port();
    mqtt::client c(unique_id("refused"));
    try {
        c.connect("127.0.0.1", port);
        FAIL("connect to a closed port did not throw");
    } catch (const mqtt::error& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(what.find(endpoint(port)) != std::string::npos);
        CHECK(e.code() == std::errc::connection_refused);  // a standard code, comparable portably
        CHECK(what.find(std::make_error_code(std::errc::connection_refused).message()) != std::string::npos);
    }
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("connect error_code overload: sets ec instead of throwing", "[client][connect]")
{
    SECTION("refused")
    {
        const auto port = mqtt_test::free_loopback_port();
        mqtt::client c(unique_id("ecref"));
        std::error_code ec;
        CHECK_NOTHROW(c.connect("127.0.0.1", port, 60, ec));
        CHECK(ec == std::errc::connection_refused);
        CHECK_FALSE(c.is_connected());
    }
    SECTION("success clears ec; connecting again gives already_connected")
    {
        broker b;
        mqtt::client c(unique_id("ecok"));
        std::error_code ec = mqtt::make_error_code(mqtt::errc::timeout);
        c.connect(b.host(), b.port(), 60, ec);
        CHECK_FALSE(ec);
        CHECK(c.is_connected());
        c.connect(b.host(), b.port(), 60, ec);
        CHECK(ec == mqtt::errc::already_connected);
        CHECK(c.is_connected());
        CHECK_FALSE(c.disconnect());
    }
}

TEST_CASE("connect to a name that does not resolve throws naming the host", "[client][connect]")
{
    mqtt::client c(unique_id("dns"));
    c.connect_timeout_set(3s);
    const std::string host = "no-such-host.invalid";
    try {
        c.connect(host, 1883);
        FAIL("connect to " << host << " did not throw");
    } catch (const mqtt::error& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(what.find(host + ":1883") != std::string::npos);
        CHECK(e.code());
        // A resolver failure, not a timeout or a refusal.
        CHECK(e.code() != mqtt::errc::connect_timeout);
        CHECK(e.code() != std::errc::connection_refused);
    }
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("connect to a server that never answers times out with errc::connect_timeout", "[client][connect]")
{
    silent_listener silent;
    mqtt::client c(unique_id("tmo"));
    c.connect_timeout_set(300ms);
    std::string what;
    std::error_code code;
    const auto took = time_of([&] {
        try {
            c.connect("127.0.0.1", silent.port());
        } catch (const mqtt::error& e) {
            what = e.what();
            code = e.code();
        }
    });
    INFO(what << " after " << ms(took) << " ms");
    CHECK(code == mqtt::errc::connect_timeout);
    CHECK(what.find(endpoint(silent.port())) != std::string::npos);
    CHECK(took >= 250ms);
    CHECK(took < 3s);
    CHECK_FALSE(c.is_connected());

    // The error_code overload says the same.
    std::error_code ec;
    c.connect("127.0.0.1", silent.port(), 60, ec);
    CHECK(ec == mqtt::errc::connect_timeout);
}

TEST_CASE("on_connect_fail reports a failed connect_async", "[client][connect][callbacks]")
{
    const auto port = mqtt_test::free_loopback_port();
    callback_log log;
    mqtt::client c(unique_id("cfail"));
    log.attach(c);
    REQUIRE_FALSE(c.connect_async("127.0.0.1", port));
    REQUIRE_FALSE(c.loop_start());
    REQUIRE(log.connect_fails.wait_for(1));
    CHECK(log.connect_fails.at(0) == std::errc::connection_refused);
    CHECK(log.connects.size() == 0);
    CHECK_FALSE(c.is_connected());
    CHECK_FALSE(c.loop_stop());
}

TEST_CASE("username and password: accepted, refused with a named errc", "[client][connect][auth]")
{
    broker_options options;
    options.users = {{"alice", "s3cret"}};
    broker b(options);

    SECTION("right password")
    {
        test_client c(unique_id("pwok"));
        c.client.username_pw_set("alice", "s3cret");
        c.start(b);
        CHECK(c.client.is_connected());
        REQUIRE(c.log.connects.wait_for(1));
        CHECK(c.log.connects.at(0).return_code == 0);
        // And it is usable.
        const auto topic = unique_topic("pw");
        c.subscribe_and_wait(topic, 1);
        c.client.publish(topic, "hello", 1);
        REQUIRE(c.messages().wait_for(1));
        CHECK(c.messages().at(0).payload == "hello");
    }
    SECTION("wrong password: Mosquitto 2.0 answers CONNACK 5, not authorized")
    {
        mqtt::client c(unique_id("pwbad"));
        c.username_pw_set("alice", "wrong!");
        try {
            c.connect(b.host(), b.port());
            FAIL("connect with a wrong password did not throw");
        } catch (const mqtt::error& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(e.code() == mqtt::errc::connection_refused_not_authorized);
            CHECK(what.find(endpoint(b.port())) != std::string::npos);
            CHECK(what.find("not authorized") != std::string::npos);
        }
        CHECK_FALSE(c.is_connected());
    }
    SECTION("no credentials at all: refused")
    {
        mqtt::client c(unique_id("pwnone"));
        std::error_code ec;
        c.connect(b.host(), b.port(), 60, ec);
        CHECK(ec == mqtt::errc::connection_refused_not_authorized);
        CHECK_FALSE(c.is_connected());
    }
    SECTION("a refused connect reports the CONNACK code to on_connect")
    {
        callback_log log;
        mqtt::client c(unique_id("pwcb"));
        log.attach(c);
        c.username_pw_set("alice", "nope");
        REQUIRE_FALSE(c.connect_async(b.host(), b.port()));
        REQUIRE_FALSE(c.loop_start());
        REQUIRE(log.connects.wait_for(1));
        CHECK(log.connects.at(0).return_code == 5);
        CHECK_FALSE(c.is_connected());
        CHECK_FALSE(c.loop_stop());
    }
}

TEST_CASE("MQTT 3.1 (protocol_version::mqtt31) connects and round-trips", "[client][connect]")
{
    broker b;
    const auto id = unique_id("v31");
    REQUIRE(id.size() <= 23);
    test_client c(id, std::nullopt, mqtt::protocol_version::mqtt31);
    c.start(b);
    const auto topic = unique_topic("v31");
    c.subscribe_and_wait(topic, 2);
    for (int qos = 0; qos <= 2; ++qos) c.client.publish(topic, "q" + std::to_string(qos), qos);
    REQUIRE(c.messages().wait_for(3));
    CHECK(c.messages().payloads() == std::vector<std::string>{"q0", "q1", "q2"});
    // Mosquitto logs the protocol of every new client: p1 is MQTT 3.1
    // (p2 would be 3.1.1).
    CHECK(wait_for_broker_log(b, " as " + id + " (p1, "));
}

TEST_CASE("MQTT 3.1 with an empty client id gets a generated one", "[client][connect]")
{
    broker b;
    test_client c("", std::nullopt, mqtt::protocol_version::mqtt31);
    c.start(b);
    CHECK(c.client.is_connected());
}

TEST_CASE("connect_async + loop_start: on_connect fires, queued publishes go out", "[client][connect]")
{
    broker b;
    const auto topic = unique_topic("async");
    test_client sub(unique_id("asub"));
    sub.start(b);
    sub.subscribe_and_wait(topic, 1);

    test_client c(unique_id("async"));
    REQUIRE_FALSE(c.client.connect_async(b.host(), b.port()));
    // Published before the connection is up: kept in the outgoing buffer.
    auto info = c.client.publish(topic, "early", 1);
    CHECK_FALSE(info.rc());
    REQUIRE_FALSE(c.client.loop_start());
    REQUIRE(c.log.connects.wait_for(1));
    CHECK(c.log.connects.at(0).return_code == 0);
    CHECK(c.client.is_connected());
    CHECK_FALSE(info.wait_for_publish(wait_timeout));
    CHECK(info.is_published());
    REQUIRE(sub.messages().wait_for(1));
    CHECK(sub.messages().at(0).payload == "early");
}

TEST_CASE("connect after loop_start returns once connected", "[client][connect]")
{
    broker b;
    test_client c(unique_id("after"));
    REQUIRE_FALSE(c.client.loop_start());
    c.client.connect(b.host(), b.port());
    CHECK(c.client.is_connected());
    REQUIRE(c.log.connects.wait_for(1));
    CHECK_FALSE(c.client.disconnect());
    CHECK_FALSE(c.client.is_connected());
    CHECK_FALSE(c.client.loop_stop());
}

TEST_CASE("disconnect then reconnect", "[client][connect]")
{
    broker b;
    test_client c(unique_id("recon"));
    c.start(b);
    REQUIRE(c.log.connects.wait_for(1));

    CHECK_FALSE(c.client.disconnect());
    CHECK_FALSE(c.client.is_connected());
    REQUIRE(c.log.disconnects.wait_for(1));
    CHECK_FALSE(c.log.disconnects.at(0));  // success: we asked for it

    c.client.reconnect();
    CHECK(c.client.is_connected());
    REQUIRE(c.log.connects.wait_for(2));
    CHECK(c.log.connects.at(1).return_code == 0);

    const auto topic = unique_topic("recon");
    c.subscribe_and_wait(topic, 1);
    c.client.publish(topic, "again", 1);
    REQUIRE(c.messages().wait_for(1));
    CHECK(c.messages().at(0).payload == "again");
}

TEST_CASE("reconnect() by hand after the broker restarted", "[client][connect]")
{
    broker b;
    test_client c(unique_id("restart"));
    c.client.reconnect_on_failure_set(false);  // this test reconnects by hand
    c.start(b);
    b.stop();
    REQUIRE(c.log.disconnects.wait_for(1));  // the loss is reported
    CHECK(c.log.disconnects.at(0));  // not success: we did not ask for it
    CHECK_FALSE(c.client.is_connected());

    // While the broker is down, reconnect fails with a cause.
    std::error_code ec;
    c.client.reconnect(ec);
    CHECK(ec == std::errc::connection_refused);

    b.start();
    c.client.reconnect(ec);
    REQUIRE_FALSE(ec);
    CHECK(c.client.is_connected());
    const auto topic = unique_topic("restart");
    c.subscribe_and_wait(topic, 1);
    c.client.publish(topic, "back", 1);
    REQUIRE(c.messages().wait_for(1));
    CHECK(c.messages().at(0).payload == "back");
}

TEST_CASE("reconnect before any connect gives errc::not_connected", "[client][connect]")
{
    mqtt::client c(unique_id("nore"));
    std::error_code ec;
    c.reconnect(ec);
    CHECK(ec == mqtt::errc::not_connected);
    CHECK_THROWS_AS(c.reconnect(), mqtt::error);
}

TEST_CASE("keepalive: an idle connection stays up (PINGREQ is sent)", "[client][connect]")
{
    broker b;
    const auto id = unique_id("ping");
    test_client c(id);
    c.start(b, 1);  // keepalive 1 s: Mosquitto drops us after 1.5 s of silence
    // Twice: the keepalive timer re-arms after the first ping.
    CHECK(wait_for_broker_log(b, "Received PINGREQ from " + id + "\n", wait_timeout, 2));
    CHECK(wait_for_broker_log(b, "Sending PINGRESP to " + id + "\n", wait_timeout, 2));
    CHECK(c.client.is_connected());
    CHECK(c.log.disconnects.size() == 0);
    INFO(b.log());
    CHECK(broker_log_count(b, "Client " + id + " has exceeded timeout") == 0);
}

TEST_CASE("automatic reconnect after a broker restart restores the subscriptions", "[client][connect][reconnect]")
{
    broker_options options;
    options.persistence = false;  // the broker forgets the session: the client must subscribe again
    broker b(options);
    const auto topic = unique_topic("auto");
    const auto id = unique_id("auto");
    test_client c(id);
    c.client.reconnect_delay_set(50ms, 200ms);
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    REQUIRE(c.log.connects.wait_for(1));

    b.stop();
    REQUIRE(c.log.disconnects.wait_for(1));
    CHECK(c.log.disconnects.at(0));  // a loss, not success
    b.start();
    REQUIRE(c.log.connects.wait_for(2, wait_timeout));
    CHECK(c.log.connects.at(1).return_code == 0);
    CHECK_FALSE(c.log.connects.at(1).session_present);
    CHECK(c.client.is_connected());

    // The client subscribes again by itself (the broker's log is appended
    // across the restart: the second SUBACK is the new one) ...
    REQUIRE(wait_for_broker_log(b, "Sending SUBACK to " + id + "\n", wait_timeout, 2));
    // ... so a message from another client reaches it.
    test_client other(unique_id("autoo"));
    other.start(b);
    REQUIRE_FALSE(other.client.publish(topic, "after restart", 1).wait_for_publish(wait_timeout));
    REQUIRE(c.messages().wait_for(1));
    CHECK(c.messages().at(0).payload == "after restart");
}
