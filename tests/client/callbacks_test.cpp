// Callbacks: what each one receives, and that a callback may call back into
// the client (publish, subscribe, unsubscribe, disconnect, loop_stop)
// without deadlock. Every wait is bounded, so a deadlock fails the test.

#include "client_test_helpers.hpp"

#include <algorithm>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace client_test;
using mqtt_test::broker;

TEST_CASE("on_subscribe gets the mid and the granted QoS list", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("suback");
    test_client c(unique_id("suback"));
    c.start(b);
    auto [rc, mid] = c.client.subscribe({{topic + "/0", 0}, {topic + "/1", 1}, {topic + "/2", 2}});
    REQUIRE_FALSE(rc);
    REQUIRE(c.log.subscribed.wait_for(1));
    const auto r = c.log.subscribed.at(0);
    CHECK(r.mid == mid);
    CHECK(r.granted_qos == std::vector<int>{0, 1, 2});

    auto [rc2, mid2] = c.client.subscribe(topic + "/single", 1);
    REQUIRE_FALSE(rc2);
    CHECK(mid2 != mid);
    REQUIRE(c.log.subscribed.wait_for(2));
    CHECK(c.log.subscribed.at(1).mid == mid2);
    CHECK(c.log.subscribed.at(1).granted_qos == std::vector<int>{1});
}

TEST_CASE("on_unsubscribe gets the mid", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("unsuback");
    test_client c(unique_id("unsuback"));
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    auto [rc, mid] = c.client.unsubscribe(topic);
    REQUIRE_FALSE(rc);
    CHECK(mid > 0);
    REQUIRE(c.log.unsubscribed.wait_for(1));
    CHECK(c.log.unsubscribed.at(0) == mid);
}

TEST_CASE("on_publish gets the mid of each message, QoS 0, 1 and 2", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("onpub");
    test_client c(unique_id("onpub"));
    c.start(b);
    std::vector<int> mids;
    for (int qos = 0; qos <= 2; ++qos) {
        auto info = c.client.publish(topic, "x", qos);
        REQUIRE_FALSE(info.rc());
        mids.push_back(info.mid());
        REQUIRE_FALSE(info.wait_for_publish(wait_timeout));
    }
    REQUIRE(c.log.published.wait_for(3));
    CHECK(c.log.published.items() == mids);
}

TEST_CASE("on_disconnect after disconnect() reports success", "[client][callbacks]")
{
    broker b;
    test_client c(unique_id("ondisc"));
    c.start(b);
    CHECK_FALSE(c.client.disconnect());
    REQUIRE(c.log.disconnects.wait_for(1));
    CHECK_FALSE(c.log.disconnects.at(0));
    CHECK_FALSE(c.client.is_connected());
    // Nothing else happens: one on_disconnect.
    CHECK_FALSE(c.client.loop_stop());
    CHECK(c.log.disconnects.size() == 1);
}

TEST_CASE("on_disconnect reports a lost connection with a failure code", "[client][callbacks]")
{
    broker b;
    test_client c(unique_id("lost"));
    c.start(b);
    b.kill();
    REQUIRE(c.log.disconnects.wait_for(1));
    CHECK(c.log.disconnects.at(0));
    CHECK_FALSE(c.client.is_connected());
}

TEST_CASE("on_log reports a failed connect with its cause", "[client][callbacks][log]")
{
    const auto port = mqtt_test::free_loopback_port();
    callback_log log;
    mqtt::client c(unique_id("logfail"));
    log.attach(c);
    log.record_log(c);
    REQUIRE_FALSE(c.connect_async("127.0.0.1", port));
    REQUIRE_FALSE(c.loop_start());
    const auto refused = std::make_error_code(std::errc::connection_refused).message();
    const bool mentions_cause = log.logs.wait_until([&](const std::vector<log_entry>& es) {
        for (const auto& e : es)
            if (e.text.find(refused) != std::string::npos) return e.level == mqtt::log_level::err;
        return false;
    });
    INFO("log:\n" << [&] {
        std::string all;
        for (const auto& e : log.logs.items()) all += e.text + "\n";
        return all;
    }());
    CHECK(mentions_cause);
    CHECK_FALSE(c.loop_stop());
}

TEST_CASE("on_log traces every packet in paho's words, at debug level", "[client][callbacks][log]")
{
    broker b;
    const auto topic = unique_topic("log");
    const auto id = unique_id("log");
    test_client c(id);
    c.log.record_log(c.client);
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    c.client.publish(topic, "x", 1);
    REQUIRE(c.messages().wait_for(1));
    CHECK_FALSE(c.client.disconnect());
    const auto has = [](const std::vector<log_entry>& logs, const std::string& text) {
        for (const auto& e : logs)
            if (e.text == text) return true;
        return false;
    };
    REQUIRE(c.log.logs.wait_until([&](const std::vector<log_entry>& logs) { return has(logs, "Sending DISCONNECT"); },
                                  wait_timeout));

    // paho's on_log lines, with our own packet ids (SUBSCRIBE took 1, the PUBLISH 2).
    const std::vector<std::string> in_order = {
        "Sending CONNECT (u0, p0, wr0, wq0, wf0, c1, k60) client_id='" + id + "'",
        "Received CONNACK (0, 0)",
        "Sending SUBSCRIBE (d0, m1) [('" + topic + "', 1)]",
        "Received SUBACK (Mid: 1) [1]",
        "Sending PUBLISH (d0, q1, r0, m2), '" + topic + "', ... (1 bytes)",
        "Received PUBACK (Mid: 2)",
        "Sending DISCONNECT",
    };
    const auto logs = c.log.logs.items();
    std::vector<std::string> packet_lines;
    for (const auto& e : logs) {
        if (e.text.rfind("Sending ", 0) == 0 || e.text.rfind("Received ", 0) == 0) {
            CHECK(e.level == mqtt::log_level::debug);
            packet_lines.push_back(e.text);
        }
    }
    INFO("packet lines:\n" << [&] {
        std::string all;
        for (const auto& l : packet_lines) all += l + "\n";
        return all;
    }());
    std::size_t next = 0;
    for (const auto& line : packet_lines)
        if (next < in_order.size() && line == in_order[next]) ++next;
    CHECK(next == in_order.size());  // every expected line, in this order
    // The broker's copy of the message and our acknowledgement (the broker picks the id).
    const std::string received_prefix = "Received PUBLISH (d0, q1, r0, m";
    const std::string received_suffix = "), '" + topic + "', ... (1 bytes)";
    std::string broker_id;
    for (const auto& line : packet_lines) {
        if (line.rfind(received_prefix, 0) == 0 && line.size() > received_prefix.size() + received_suffix.size() &&
            line.compare(line.size() - received_suffix.size(), received_suffix.size(), received_suffix) == 0)
            broker_id = line.substr(received_prefix.size(), line.size() - received_prefix.size() - received_suffix.size());
    }
    REQUIRE_FALSE(broker_id.empty());
    CHECK(std::find(packet_lines.begin(), packet_lines.end(), "Sending PUBACK (Mid: " + broker_id + ")") !=
          packet_lines.end());
}

TEST_CASE("on_connect may subscribe and publish (the paho pattern)", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("oncon");
    message_collector got;
    recorder<std::pair<std::error_code, int>> from_callback;
    mqtt::client c(unique_id("oncon"));
    c.on_message = got.handler();
    c.on_connect = [&](mqtt::client& self, bool, int rc) {
        if (rc != 0) return;
        from_callback.push(self.subscribe(topic, 1));
        auto info = self.publish(topic, "from on_connect", 1);
        from_callback.push({info.rc(), info.mid()});
    };
    c.connect(b.host(), b.port());
    REQUIRE_FALSE(c.loop_start());
    REQUIRE(from_callback.wait_for(2));
    for (const auto& [rc, mid] : from_callback.items()) {
        CHECK_FALSE(rc);
        CHECK(mid > 0);
    }
    REQUIRE(got.wait_for(1));
    CHECK(got.at(0).payload == "from on_connect");
    CHECK_FALSE(c.loop_stop());
}

TEST_CASE("on_message may publish; wait_for_publish there returns would_deadlock at once", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("echo");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::error_code> wait_results;
    recorder<long long> wait_ms;
    test_client c(unique_id("echo"));
    c.start(b);
    c.subscribe_and_wait(topic + "/#", 1);
    c.client.on_message = [&](mqtt::client& self, const mqtt::message& m) {
        c.log.messages.push(m);
        if (m.topic != topic + "/ping") return;
        auto info = self.publish(topic + "/pong", "re: " + m.payload, 1);
        std::error_code ec;
        const auto took = time_of([&] { ec = info.wait_for_publish(std::chrono::seconds(10)); });
        wait_results.push(ec);
        wait_ms.push(ms(took));
    };
    c.client.publish(topic + "/ping", "hello", 1);
    REQUIRE(c.messages().wait_for_topic(topic + "/pong"));
    REQUIRE(wait_results.wait_for(1));
    CHECK(wait_results.at(0) == mqtt::errc::would_deadlock);
    CHECK(wait_ms.at(0) < 3000);  // at once, not after the 10 s it was given
    bool found = false;
    for (const auto& m : c.messages().items())
        if (m.topic == topic + "/pong") found = m.payload == "re: hello";
    CHECK(found);
}

TEST_CASE("on_message may subscribe and unsubscribe", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("cbsub");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::pair<std::error_code, int>> results;
    test_client c(unique_id("cbsub"));
    c.start(b);
    c.subscribe_and_wait(topic + "/control", 1);
    c.client.on_message = [&](mqtt::client& self, const mqtt::message& m) {
        c.log.messages.push(m);
        if (m.topic != topic + "/control") return;
        if (m.payload == "subscribe") results.push(self.subscribe(topic + "/data", 1));
        if (m.payload == "unsubscribe") results.push(self.unsubscribe(topic + "/data"));
    };

    c.client.publish(topic + "/control", "subscribe", 1);
    REQUIRE(results.wait_for(1));
    REQUIRE_FALSE(results.at(0).first);
    REQUIRE(c.log.wait_for_suback(results.at(0).second));
    c.client.publish(topic + "/data", "d1", 1);
    REQUIRE(c.messages().wait_for_topic(topic + "/data"));

    c.client.publish(topic + "/control", "unsubscribe", 1);
    REQUIRE(results.wait_for(2));
    REQUIRE_FALSE(results.at(1).first);
    REQUIRE(c.log.wait_for_unsuback(results.at(1).second));
    c.client.publish(topic + "/data", "d2: not delivered", 1);
    c.client.publish(topic + "/control", "marker", 1);
    REQUIRE(c.messages().wait_until([&](const std::vector<mqtt::message>& ms) {
        return !ms.empty() && ms.back().payload == "marker";
    }));
    std::vector<std::string> data;
    for (const auto& m : c.messages().items())
        if (m.topic == topic + "/data") data.push_back(m.payload);
    CHECK(data == std::vector<std::string>{"d1"});
}

TEST_CASE("on_message may call disconnect()", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("cbdisc");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::error_code> results;
    test_client c(unique_id("cbdisc"));
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    c.client.on_message = [&](mqtt::client& self, const mqtt::message&) { results.push(self.disconnect()); };
    c.client.publish(topic, "bye", 1);
    REQUIRE(results.wait_for(1));
    CHECK_FALSE(results.at(0));
    REQUIRE(c.log.disconnects.wait_for(1));
    CHECK_FALSE(c.log.disconnects.at(0));
    CHECK_FALSE(c.client.is_connected());
    // The loop thread is still there and can be stopped.
    CHECK_FALSE(c.client.loop_stop());
}

TEST_CASE("on_connect may call disconnect()", "[client][callbacks]")
{
    broker b;
    callback_log log;
    recorder<std::error_code> results;
    mqtt::client c(unique_id("ccdisc"));
    log.attach(c);
    c.on_connect = [&](mqtt::client& self, bool, int) { results.push(self.disconnect()); };
    REQUIRE_FALSE(c.connect_async(b.host(), b.port()));
    REQUIRE_FALSE(c.loop_start());
    REQUIRE(results.wait_for(1));
    CHECK_FALSE(results.at(0));
    REQUIRE(log.disconnects.wait_for(1));
    CHECK_FALSE(log.disconnects.at(0));
    CHECK_FALSE(c.is_connected());
    CHECK_FALSE(c.loop_stop());
}

TEST_CASE("on_message may call loop_stop(); loop_start() resumes without losing messages", "[client][callbacks][loop]")
{
    broker b;
    const auto topic = unique_topic("cbstop");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::error_code> results;
    test_client c(unique_id("cbstop"));
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    c.client.on_message = [&](mqtt::client& self, const mqtt::message& m) {
        c.log.messages.push(m);
        if (m.payload == "stop") results.push(self.loop_stop());
    };
    c.client.publish(topic, "stop", 1);
    REQUIRE(results.wait_for(1));
    CHECK_FALSE(results.at(0));
    // From the test thread: the stopped loop's thread is joined, not hung.
    std::error_code stop_again;
    const auto took = time_of([&] { stop_again = c.client.loop_stop(); });
    CHECK(took < 3s);
    CHECK((!stop_again || stop_again == mqtt::errc::loop_not_running));

    // Published while no loop runs; delivered once the loop runs again.
    test_client other(unique_id("cbstopo"));
    other.start(b);
    REQUIRE_FALSE(other.client.publish(topic, "after", 1).wait_for_publish(wait_timeout));
    REQUIRE_FALSE(c.client.loop_start());
    REQUIRE(c.messages().wait_for(2));
    CHECK(c.messages().payloads() == std::vector<std::string>{"stop", "after"});
}

TEST_CASE("callbacks may be reassigned from inside a callback and from other threads", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("reassign");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::string> second;
    struct routed_message {
        char via;  // which callback got it
        std::string payload;
        std::size_t flips;  // reassignments done when it was delivered
    };
    recorder<routed_message> routed;
    std::atomic<std::size_t> flips{0};
    test_client c(unique_id("reassign"));
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    c.client.on_message = [&](mqtt::client& self, const mqtt::message& m) {
        c.log.messages.push(m);
        self.on_message = [&](mqtt::client&, const mqtt::message& m2) { second.push(m2.payload); };
    };
    c.client.publish(topic, "1", 1);
    c.client.publish(topic, "2", 1);
    REQUIRE(second.wait_for(1));
    CHECK(c.messages().payloads() == std::vector<std::string>{"1"});
    CHECK(second.at(0) == "2");

    // Reassigning while messages flow, from another thread: each message goes
    // to exactly one of the two callbacks (the one assigned when it was
    // dispatched), none is lost, none comes twice, the order holds.
    std::atomic<bool> stop{false};
    std::thread flipper([&] {
        while (!stop.load()) {
            c.client.on_message = [&](mqtt::client&, const mqtt::message& m) {
                routed.push({'a', m.payload, flips.load()});
            };
            c.client.on_message = [&](mqtt::client&, const mqtt::message& m) {
                routed.push({'b', m.payload, flips.load()});
            };
            flips.fetch_add(1);
        }
    });
    // In batches, each delivered before the next goes out, with reassignments
    // in between (waited for, not hoped for): the flips surely interleave
    // with the deliveries, also when the flipper thread gets little time.
    constexpr std::size_t batches = 10;
    constexpr std::size_t batch = 20;
    std::vector<std::string> sent;
    for (std::size_t k = 0; k < batches; ++k) {
        const std::size_t before = flips.load();
        REQUIRE(poll_until([&] { return flips.load() > before; }));
        for (std::size_t i = 0; i < batch; ++i) {
            sent.push_back(std::to_string(k * batch + i));
            c.client.publish(topic, sent.back(), 1);
        }
        REQUIRE(routed.wait_for(sent.size()));
    }
    stop.store(true);
    flipper.join();
    c.client.on_message = [&](mqtt::client&, const mqtt::message& m2) { second.push(m2.payload); };
    c.client.publish(topic, "final", 1);
    REQUIRE(second.wait_until([](const std::vector<std::string>& v) { return !v.empty() && v.back() == "final"; }));

    const auto got = routed.items();
    std::vector<std::string> payloads;
    std::size_t via_a = 0;
    for (const auto& r : got) {
        payloads.push_back(r.payload);
        if (r.via == 'a') ++via_a;
    }
    CHECK(payloads == sent);  // all of them, once each, in order; "final" went to the last callback only
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().flips > got.front().flips);  // reassigned while these were being delivered
    WARN("reassigned " << flips.load() << " times while " << got.size() << " messages came: " << via_a
                       << " went to one callback, " << got.size() - via_a << " to the other");
    CHECK(c.client.is_connected());
}

TEST_CASE("a throwing callback does not take the loop down", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("throw");
    test_client c(unique_id("throw"));
    c.log.record_log(c.client);
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    c.client.on_message = [&](mqtt::client&, const mqtt::message& m) {
        c.log.messages.push(m);
        if (m.payload == "boom") throw std::runtime_error("boom");
    };
    c.client.publish(topic, "boom", 1);
    c.client.publish(topic, "fine", 1);
    REQUIRE(c.messages().wait_for(2));
    CHECK(c.messages().payloads() == std::vector<std::string>{"boom", "fine"});
    CHECK(c.client.is_connected());
    // The exception is reported through on_log.
    CHECK(c.log.logs.wait_until([](const std::vector<log_entry>& es) {
        for (const auto& e : es)
            if (e.text.find("boom") != std::string::npos) return true;
        return false;
    }));
}

TEST_CASE("user_data_set / user_data, reachable from callbacks", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("udata");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::string> seen;
    test_client c(unique_id("udata"));
    c.client.user_data_set(std::string("my data"));
    CHECK(std::any_cast<std::string>(c.client.user_data()) == "my data");
    c.client.on_message = [&](mqtt::client& self, const mqtt::message&) {
        seen.push(std::any_cast<std::string>(self.user_data()));
    };
    c.start(b);
    c.subscribe_and_wait(topic, 0);
    c.client.publish(topic, "x");
    REQUIRE(seen.wait_for(1));
    CHECK(seen.at(0) == "my data");
}

TEST_CASE("callbacks run on the loop thread, in arrival order", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("thr");
    // Declared before the client: callbacks on the loop thread use them until it is destroyed.
    recorder<std::thread::id> threads;
    test_client c(unique_id("thr"));
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    c.client.on_message = [&](mqtt::client&, const mqtt::message& m) {
        threads.push(std::this_thread::get_id());
        c.log.messages.push(m);
    };
    // One QoS: order is promised per QoS level only (a QoS 2 message is
    // delivered on PUBREL, so a later QoS 1 message may overtake it).
    for (int i = 0; i < 50; ++i) c.client.publish(topic, std::to_string(i), 1);
    REQUIRE(c.messages().wait_for(50));
    const auto ids = threads.items();
    for (const auto& id : ids) {
        CHECK(id != std::this_thread::get_id());
        CHECK(id == ids.front());
    }
    const auto payloads = c.messages().payloads();
    for (int i = 0; i < 50; ++i) CHECK(payloads[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("message_callback_add: per-filter callbacks, on_message only when none matched", "[client][callbacks]")
{
    broker b;
    const auto topic = unique_topic("perf");
    recorder<std::string> under_a;
    recorder<std::string> ends_in_x;
    test_client c(unique_id("perf"));
    c.client.message_callback_add(topic + "/a/#",
                                  [&](mqtt::client&, const mqtt::message& m) { under_a.push(m.payload); });
    c.client.message_callback_add(topic + "/+/x",
                                  [&](mqtt::client&, const mqtt::message& m) { ends_in_x.push(m.payload); });
    c.start(b);
    c.subscribe_and_wait(topic + "/#", 1);

    c.client.publish(topic + "/a/x", "both", 1);
    c.client.publish(topic + "/a/y", "a only", 1);
    c.client.publish(topic + "/b/x", "x only", 1);
    c.client.publish(topic + "/b/y", "neither", 1);
    REQUIRE(c.messages().wait_for(1));
    REQUIRE(under_a.wait_for(2));
    REQUIRE(ends_in_x.wait_for(2));
    CHECK(under_a.items() == std::vector<std::string>{"both", "a only"});
    CHECK(ends_in_x.items() == std::vector<std::string>{"both", "x only"});
    CHECK(c.messages().payloads() == std::vector<std::string>{"neither"});

    CHECK(c.client.message_callback_remove(topic + "/a/#"));
    CHECK_FALSE(c.client.message_callback_remove(topic + "/a/#"));  // gone already
    c.client.publish(topic + "/a/z", "default again", 1);
    REQUIRE(c.messages().wait_for(2));
    CHECK(c.messages().at(1).payload == "default again");
    CHECK(under_a.size() == 2);
}

TEST_CASE("enable_logger writes the log to a stream, never the password", "[client][callbacks][log]")
{
    broker b;
    std::ostringstream out;
    {
        mqtt::client c(unique_id("logger"));
        c.enable_logger(out);
        c.username_pw_set("someone", "pa55-w0rd-xyz");
        c.connect(b.host(), b.port());
        REQUIRE_FALSE(c.loop_start());
        c.publish("t/logger", "x", 1).wait_for_publish(wait_timeout);
        CHECK_FALSE(c.disconnect());
        CHECK_FALSE(c.loop_stop());
    }  // the loop thread is gone: the stream may be read
    const auto text = out.str();
    INFO(text);
    CHECK_FALSE(text.empty());
    CHECK(text.find("pa55-w0rd-xyz") == std::string::npos);
    CHECK(text.find("Sending CONNECT (u1, p1, ") != std::string::npos);  // that there is one, no more
}
