// The message loop: loop_forever, loop(timeout), loop_start/loop_stop state
// errors, and that disconnect() and the destructor return within a bound
// when the broker is dead or hangs.

#include "client_test_helpers.hpp"

#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace client_test;
using mqtt_test::broker;

TEST_CASE("loop_forever on a thread, ended by disconnect() from a callback", "[client][loop]")
{
    broker b;
    const auto topic = unique_topic("forever");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::thread::id> callback_threads;
    test_client c(unique_id("forever"));
    c.client.on_message = [&](mqtt::client& self, const mqtt::message& m) {
        callback_threads.push(std::this_thread::get_id());
        c.log.messages.push(m);
        if (m.payload == "quit") self.disconnect();
    };
    c.client.connect(b.host(), b.port());
    auto [rc, mid] = c.client.subscribe(topic, 1);  // queued; the loop sends it
    REQUIRE_FALSE(rc);

    std::error_code result = mqtt::make_error_code(mqtt::errc::timeout);
    std::thread::id loop_thread;
    bounded_thread t([&] {
        loop_thread = std::this_thread::get_id();
        result = c.client.loop_forever();
    });
    REQUIRE(c.log.wait_for_suback(mid));

    test_client other(unique_id("forevero"));
    other.start(b);
    other.client.publish(topic, "hello", 1);
    other.client.publish(topic, "quit", 1);
    const bool returned = t.done_within(wait_timeout);
    if (!returned) c.client.disconnect();  // unblock it, so that the test ends
    REQUIRE(returned);
    CHECK_FALSE(result);  // ended by disconnect(): success
    CHECK_FALSE(c.client.is_connected());
    CHECK(c.messages().payloads() == std::vector<std::string>{"hello", "quit"});
    for (const auto& id : callback_threads.items()) CHECK(id == loop_thread);
    REQUIRE(c.log.disconnects.wait_for(1));
    CHECK_FALSE(c.log.disconnects.at(0));
}

TEST_CASE("loop_forever without automatic reconnect returns with an error when the connection is lost",
          "[client][loop]")
{
    broker b;
    test_client c(unique_id("foreverl"));
    c.client.reconnect_on_failure_set(false);
    c.client.connect(b.host(), b.port());
    std::error_code result;
    bounded_thread t([&] { result = c.client.loop_forever(); });
    REQUIRE(c.log.connects.wait_for(1));
    b.kill();
    const bool returned = t.done_within(wait_timeout);
    if (!returned) c.client.disconnect();  // unblock it, so that the test ends
    REQUIRE(returned);
    CHECK(result);
    CHECK_FALSE(c.client.is_connected());
}

TEST_CASE("loop_forever with automatic reconnect rides out a broker restart, ended by disconnect()",
          "[client][loop][reconnect]")
{
    broker b;
    const auto topic = unique_topic("foreverr");
    test_client c(unique_id("foreverr"));
    c.client.reconnect_delay_set(50ms, 200ms);
    c.client.connect(b.host(), b.port());
    std::error_code result = mqtt::make_error_code(mqtt::errc::timeout);
    bounded_thread t([&] { result = c.client.loop_forever(); });
    REQUIRE(c.log.connects.wait_for(1));

    b.stop();
    REQUIRE(c.log.disconnects.wait_for(1));
    CHECK_FALSE(t.done_within(200ms));  // still looping, trying to reconnect
    b.start();
    REQUIRE(c.log.connects.wait_for(2, wait_timeout));
    CHECK(c.client.is_connected());

    // Still usable, then ended from another thread.
    c.subscribe_and_wait(topic, 1);
    c.client.publish(topic, "after restart", 1);
    REQUIRE(c.messages().wait_for(1));
    CHECK_FALSE(c.client.disconnect());
    const bool returned = t.done_within(wait_timeout);
    if (!returned) c.client.disconnect();
    REQUIRE(returned);
    CHECK_FALSE(result);
}

TEST_CASE("loop_forever before connect gives errc::not_connected at once", "[client][loop]")
{
    mqtt::client c(unique_id("forevern"));
    std::error_code ec;
    const auto took = time_of([&] { ec = c.loop_forever(); });
    CHECK(ec == mqtt::errc::not_connected);
    CHECK(took < 3s);  // at once, not a loop that waits for a connection
}

TEST_CASE("loop(timeout) drives the client on the caller's thread", "[client][loop]")
{
    broker b;
    const auto topic = unique_topic("manual");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::thread::id> callback_threads;
    test_client c(unique_id("manual"));
    c.client.on_message = [&](mqtt::client&, const mqtt::message& m) {
        callback_threads.push(std::this_thread::get_id());
        c.log.messages.push(m);
    };
    c.client.connect(b.host(), b.port());
    REQUIRE(c.client.is_connected());

    // Drives until cond() holds; bounded.
    const auto drive_until = [&](auto cond) {
        const auto deadline = steady::now() + wait_timeout;
        while (!cond() && steady::now() < deadline) {
            const auto ec = c.client.loop(100ms);
            if (ec) {
                FAIL_CHECK("loop(100ms) returned " << ec.message());
                return false;
            }
        }
        return cond();
    };

    auto [rc, mid] = c.client.subscribe(topic, 2);
    REQUIRE_FALSE(rc);
    REQUIRE(drive_until([&] { return c.log.subscribed.size() >= 1; }));
    CHECK(c.log.subscribed.at(0).mid == mid);

    auto info = c.client.publish(topic, "manual", 2);
    REQUIRE(drive_until([&] { return c.messages().size() >= 1 && info.is_published(); }));
    CHECK(c.messages().at(0).payload == "manual");
    CHECK(c.messages().at(0).qos == 2);
    CHECK(callback_threads.at(0) == std::this_thread::get_id());

    // Nothing to do: loop(timeout) returns after about the timeout.
    std::error_code ec;
    const auto took = time_of([&] { ec = c.client.loop(200ms); });
    CHECK_FALSE(ec);
    CHECK(took < 3s);  // not the keepalive (60 s) or any other wait

    CHECK_FALSE(c.client.disconnect());
    CHECK(c.client.loop(50ms) == mqtt::errc::not_connected);
}

TEST_CASE("loop_start twice gives errc::loop_already_running; loop_stop without a loop gives loop_not_running",
          "[client][loop]")
{
    broker b;
    mqtt::client c(unique_id("twice"));
    CHECK(c.loop_stop() == mqtt::errc::loop_not_running);
    REQUIRE_FALSE(c.loop_start());
    CHECK(c.loop_start() == mqtt::errc::loop_already_running);
    c.connect(b.host(), b.port());
    CHECK(c.is_connected());
    CHECK(c.loop_start() == mqtt::errc::loop_already_running);
    // While a loop thread runs, the other ways of running the loop say so too.
    CHECK(c.loop(10ms) == mqtt::errc::loop_already_running);
    CHECK(c.loop_forever() == mqtt::errc::loop_already_running);
    CHECK_FALSE(c.loop_stop());
    CHECK(c.loop_stop() == mqtt::errc::loop_not_running);
    // And it starts again.
    CHECK_FALSE(c.loop_start());
    CHECK_FALSE(c.disconnect());
    CHECK_FALSE(c.loop_stop());
}

TEST_CASE("disconnect() returns within a bound when the broker was killed", "[client][loop][dead]")
{
    broker b;
    const auto topic = unique_topic("deadd");
    test_client c(unique_id("deadd"));
    c.start(b);
    b.kill();
    std::error_code ec;
    const auto took = time_of([&] { ec = c.client.disconnect(); });
    INFO("disconnect took " << ms(took) << " ms and returned " << ec.message());
    CHECK(took < 3s);
    CHECK_FALSE(c.client.is_connected());
    // Publishing afterwards is a state error, not a hang.
    CHECK(c.client.publish(topic, "x", 1).rc() == mqtt::errc::not_connected);
}

TEST_CASE("disconnect() without a loop thread returns within a bound when the broker was killed",
          "[client][loop][dead]")
{
    broker b;
    mqtt::client c(unique_id("deadnl"));
    c.connect(b.host(), b.port());
    b.kill();
    std::error_code ec;
    const auto took = time_of([&] { ec = c.disconnect(); });
    INFO("disconnect took " << ms(took) << " ms and returned " << ec.message());
    CHECK(took < 3s);
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("the destructor returns within a bound when the broker was killed; pending messages fail",
          "[client][loop][dead]")
{
    broker b;
    const auto topic = unique_topic("deadx");
    std::vector<mqtt::message_info> infos;
    auto c = std::make_unique<mqtt::client>(unique_id("deadx"));
    c->connect(b.host(), b.port());
    REQUIRE_FALSE(c->loop_start());
    b.kill();
    for (int i = 0; i < 100; ++i) infos.push_back(c->publish(topic, std::to_string(i), 1));
    const auto took = time_of([&] { c.reset(); });
    CHECK(took < 3s);
    // Every message_info completed: none published (the broker is dead, it
    // acknowledged nothing), none left waiting.
    for (auto& info : infos) {
        std::error_code ec;
        const auto wait = time_of([&] { ec = info.wait_for_publish(wait_timeout); });
        CHECK(ec);
        CHECK(ec != mqtt::errc::timeout);
        CHECK(wait < 3s);  // completed already: not the 5 s wait_timeout
        CHECK_FALSE(info.is_published());
    }
}

TEST_CASE("the destructor without a loop thread returns within a bound when the broker was killed",
          "[client][loop][dead]")
{
    broker b;
    auto c = std::make_unique<mqtt::client>(unique_id("deadxn"));
    c->connect(b.host(), b.port());
    b.kill();
    const auto took = time_of([&] { c.reset(); });
    CHECK(took < 3s);
}

TEST_CASE("a broker that hangs after CONNACK: disconnect() and the destructor are bounded", "[client][loop][dead]")
{
    silent_after_connack_broker hung;
    const auto topic = unique_topic("hung");

    SECTION("disconnect() with unacknowledged QoS 1 messages stops waiting at disconnect_timeout, still says goodbye")
    {
        mqtt::client c(unique_id("hungd"));
        c.disconnect_timeout_set(500ms);
        c.connect("127.0.0.1", hung.port());
        REQUIRE(c.is_connected());
        REQUIRE_FALSE(c.loop_start());
        auto info = c.publish(topic, "never acked", 1);
        std::error_code ec;
        const auto took = time_of([&] { ec = c.disconnect(); });
        INFO("disconnect took " << ms(took) << " ms and returned " << ec.message());
        CHECK(took < 3s);
        CHECK_FALSE(ec);  // DISCONNECT went out: the broker publishes no will
        CHECK_FALSE(c.is_connected());
        // The unacknowledged message failed; its wait does not hang.
        CHECK(info.wait_for_publish(wait_timeout) == mqtt::errc::disconnected);
    }
    SECTION("the destructor")
    {
        auto c = std::make_unique<mqtt::client>(unique_id("hungx"));
        c->connect("127.0.0.1", hung.port());
        REQUIRE_FALSE(c->loop_start());
        auto info = c->publish(topic, "never acked", 2);
        const auto took = time_of([&] { c.reset(); });
        CHECK(took < 3s);
        CHECK(info.wait_for_publish(1s) == mqtt::errc::shutdown);
    }
    SECTION("keepalive: no PINGRESP means the connection is lost")
    {
        callback_log log;
        mqtt::client c(unique_id("hungk"));
        log.attach(c);
        c.connect("127.0.0.1", hung.port(), 1);
        REQUIRE_FALSE(c.loop_start());
        // PINGREQ after 1 s idle, given up 1 s later.
        REQUIRE(log.disconnects.wait_for(1, wait_timeout));
        CHECK(log.disconnects.at(0) == mqtt::errc::keepalive_timeout);
        CHECK_FALSE(c.is_connected());
        CHECK(hung.bytes_after_connect() >= 2);  // the PINGREQ
    }
}

TEST_CASE("destroying a client that never connected, with and without a loop", "[client][loop]")
{
    const auto took = time_of([] {
        { mqtt::client idle(unique_id("idle")); }
        {
            mqtt::client looping(unique_id("idlel"));
            REQUIRE_FALSE(looping.loop_start());
        }
    });
    CHECK(took < 3s);
}
