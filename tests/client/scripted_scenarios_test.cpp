// The session's seams at the client level, against a scripted broker that
// produces what Mosquitto never does: cuts before an ack, a broker that
// forgot the session, PUBLISHes during disconnect().

#include "client_test_helpers.hpp"

#include "support/scripted_broker.hpp"

#include <mqtt/publish.hpp>

#include <atomic>
#include <memory>

using namespace client_test;
using mqtt_test::scripted_broker;
using namespace mqtt::protocol;

namespace {

connack accepted(bool session_present = false)
{
    return connack{session_present, connack_code::accepted};
}

publish to_client(std::uint16_t id, std::uint8_t qos, std::string payload, bool dup = false)
{
    publish p;
    p.topic = "in";
    p.payload = std::move(payload);
    p.qos = qos;
    p.packet_id = id;
    p.dup = dup;
    return p;
}

template <class Packet>
Packet as(const packet& p)
{
    if (!std::holds_alternative<Packet>(p)) throw std::runtime_error("unexpected packet " + describe(p));
    return std::get<Packet>(p);
}

// A client with every callback recorded and quick reconnects.
struct scripted_client {
    callback_log log;
    mqtt::client client;

    explicit scripted_client(const std::string& tag, bool clean_session = true)
        : client(unique_id(tag), clean_session)
    {
        log.attach(client);
        client.reconnect_delay_set(50ms, 100ms);
    }
};

std::vector<std::string> payloads(const message_collector& messages)
{
    std::vector<std::string> out;
    for (const auto& m : messages.items()) out.push_back(m.payload);
    return out;
}

}  // namespace

TEST_CASE("publish::single throws soon when the link drops before PUBACK", "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted()).expect(packet_type::publish).close();
    b.start();
    mqtt::connect_options options;
    options.hostname = b.host();
    options.port = b.port();
    std::error_code ec;
    const auto took = time_of([&] {
        try {
            mqtt::publish::single("t", "x", 1, false, options);
        } catch (const mqtt::error& e) {
            ec = e.code();
        }
    });
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK(ec == mqtt::errc::connection_lost);
    CHECK(took < 5s);  // not after the one-year default wait
}

TEST_CASE("Without reconnect every pending message_info completes with connection_lost when the link drops",
          "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted()).expect(packet_type::publish).close();
    b.start();
    scripted_client c("noreconn");
    c.client.reconnect_on_failure_set(false);
    c.client.max_inflight_messages_set(1);
    c.client.connect(b.host(), b.port());
    REQUIRE_FALSE(c.client.loop_start());
    auto in_flight = c.client.publish("t", "1", 1);
    auto queued = c.client.publish("t", "2", 2);
    CHECK(in_flight.wait_for_publish(wait_timeout) == mqtt::errc::connection_lost);
    CHECK(queued.wait_for_publish(wait_timeout) == mqtt::errc::connection_lost);
    CHECK(b.wait_done());
    CHECK(c.client.publish("t", "3", 1).rc() == mqtt::errc::not_connected);  // the session ended
}

TEST_CASE("A SUBSCRIBE cut before SUBACK goes again once, keeps its packet id, and on_subscribe fires once",
          "[client][scripted]")
{
    scripted_broker b;
    std::atomic<std::uint16_t> sub_id{0};
    std::atomic<bool> cut{false};
    b.accept().expect(packet_type::connect).reply(accepted());
    b.expect(packet_type::subscribe, [&](const packet& p) { sub_id = as<subscribe>(p).packet_id; });
    b.close().run([&] { cut = true; });
    b.accept().expect(packet_type::connect).reply(accepted());
    b.expect(packet_type::subscribe, [&](const packet& p) {
        const auto s = as<subscribe>(p);
        if (s.packet_id != sub_id) throw std::runtime_error("the SUBSCRIBE came back with another packet id");
        if (s.subscriptions != std::vector<subscription>{{"a/#", 1}}) throw std::runtime_error("other filters");
    });
    for (int i = 0; i < 3; ++i) {
        b.expect(packet_type::publish, [&](const packet& p) {
            if (as<publish>(p).packet_id == sub_id) throw std::runtime_error("a PUBLISH took the SUBSCRIBE's id");
        });
        b.reply([](const packet& last) { return puback{as<publish>(last).packet_id}; });
    }
    b.reply([&](const packet&) { return suback{sub_id, {1}}; });
    b.expect_silence(300ms);  // no second SUBSCRIBE from the automatic resubscription
    b.start();

    scripted_client c("subcut");
    c.client.connect(b.host(), b.port());
    REQUIRE_FALSE(c.client.loop_start());
    const auto [rc, mid] = c.client.subscribe("a/#", 1);
    REQUIRE_FALSE(rc);
    REQUIRE(c.log.disconnects.wait_for(1));
    // Queued while the link is down; sent after the renewed SUBSCRIBE.
    std::vector<mqtt::message_info> infos;
    for (int i = 0; i < 3; ++i) infos.push_back(c.client.publish("t", std::to_string(i), 1));
    for (auto& info : infos) CHECK_FALSE(info.wait_for_publish(wait_timeout));
    REQUIRE(c.log.wait_for_suback(mid));
    INFO(b.report());
    CHECK(b.wait_done());
    REQUIRE(c.log.subscribed.size() == 1);
    CHECK(c.log.subscribed.at(0).mid == mid);
    CHECK(c.log.subscribed.at(0).granted_qos == std::vector<int>{1});
    CHECK(cut);
}

TEST_CASE("A resubscription the broker refuses is reported: on_subscribe with 128 and a warning",
          "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted());
    b.expect(packet_type::subscribe).reply([](const packet& last) { return suback{as<subscribe>(last).packet_id, {1}}; });
    b.close();
    b.accept().expect(packet_type::connect).reply(accepted(false));
    b.expect(packet_type::subscribe).reply([](const packet& last) {
        return suback{as<subscribe>(last).packet_id, {suback_failure}};
    });
    b.start();

    scripted_client c("resubno");
    c.log.record_log(c.client);
    c.client.connect(b.host(), b.port());
    REQUIRE_FALSE(c.client.loop_start());
    const auto [rc, mid] = c.client.subscribe("a", 1);
    REQUIRE_FALSE(rc);
    REQUIRE(c.log.subscribed.wait_for(2));
    CHECK(c.log.subscribed.at(0).mid == mid);
    CHECK(c.log.subscribed.at(1).granted_qos == std::vector<int>{0x80});
    CHECK(c.log.logs.wait_until([](const std::vector<log_entry>& logs) {
        for (const auto& l : logs)
            if (l.level == mqtt::log_level::warning && l.text.find("refused the resubscription to 'a'") != std::string::npos)
                return true;
        return false;
    }, wait_timeout));
    INFO(b.report());
    CHECK(b.wait_done());
}

TEST_CASE("A broker that lost the session restarts QoS 2 numbering: its new PUBLISH id 1 is delivered",
          "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted());
    b.reply(to_client(1, 2, "old")).expect(packet{pubrec{1}}).close();
    b.accept().expect(packet_type::connect).reply(accepted(false));
    b.reply(to_client(1, 2, "new")).expect(packet{pubrec{1}}).reply(pubrel{1}).expect(packet{pubcomp{1}});
    b.start();

    scripted_client c("q2reset", false);
    c.client.connect(b.host(), b.port());
    REQUIRE_FALSE(c.client.loop_start());
    REQUIRE(c.log.messages.wait_for(2));
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK(payloads(c.log.messages) == std::vector<std::string>{"old", "new"});
}

TEST_CASE("A persistent session keeps QoS 2 state across disconnect() and connect(): no second delivery",
          "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted());
    b.reply(to_client(5, 2, "held")).expect(packet{pubrec{5}});
    b.expect(packet_type::disconnect).expect_closed();  // disconnect() gave up waiting for PUBREL
    b.accept().expect(packet_type::connect).reply(accepted(true));
    b.reply(to_client(5, 2, "held", true)).expect(packet{pubrec{5}}).reply(pubrel{5}).expect(packet{pubcomp{5}});
    b.start();

    scripted_client c("q2keep", false);
    c.client.disconnect_timeout_set(300ms);
    c.client.connect(b.host(), b.port());
    REQUIRE_FALSE(c.client.loop_start());
    REQUIRE(c.log.messages.wait_for(1));
    REQUIRE_FALSE(c.client.disconnect());
    c.client.connect(b.host(), b.port());
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK(payloads(c.log.messages) == std::vector<std::string>{"held"});
}

TEST_CASE("disconnect() then connect() sends no old subscription", "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted());
    b.expect(packet_type::subscribe).reply([](const packet& last) { return suback{as<subscribe>(last).packet_id, {0}}; });
    b.expect(packet_type::disconnect).expect_closed();
    b.accept().expect(packet_type::connect).reply(accepted(false)).expect_silence(500ms);
    b.start();

    scripted_client c("forget");
    c.client.connect(b.host(), b.port());
    REQUIRE_FALSE(c.client.loop_start());
    const auto [rc, mid] = c.client.subscribe("a", 0);
    REQUIRE_FALSE(rc);
    REQUIRE(c.log.wait_for_suback(mid));
    REQUIRE_FALSE(c.client.disconnect());
    c.client.connect(b.host(), b.port());
    INFO(b.report());
    CHECK(b.wait_done());
}

TEST_CASE("loop_start() in a callback returns loop_already_running, whoever runs the loop", "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted()).reply(to_client(0, 0, "m"));
    b.start();
    scripted_client c("loopcb");
    std::error_code in_connect;
    std::error_code in_message;
    std::atomic<bool> got{false};
    c.client.on_connect = [&](mqtt::client& self, bool, int) { in_connect = self.loop_start(); };
    c.client.on_message = [&](mqtt::client& self, const mqtt::message&) {
        in_message = self.loop_start();
        got = true;
    };
    c.client.connect(b.host(), b.port());  // runs on_connect on this thread
    CHECK(in_connect == mqtt::errc::loop_already_running);
    for (int i = 0; i < 100 && !got; ++i) c.client.loop(100ms);  // runs on_message on this thread
    REQUIRE(got);
    CHECK(in_message == mqtt::errc::loop_already_running);
    // The real loop thread still starts afterwards.
    CHECK_FALSE(c.client.loop_start());
}

TEST_CASE("connect_async to a closed port, then disconnect(): prompt, with or without a loop thread",
          "[client][scripted]")
{
    const auto port = mqtt_test::free_loopback_port();
    for (const bool threaded : {false, true}) {
        INFO("loop thread: " << threaded);
        scripted_client c("asyncoff");
        if (threaded) REQUIRE_FALSE(c.client.loop_start());
        REQUIRE_FALSE(c.client.connect_async("127.0.0.1", port));
        auto info = c.client.publish("t", "x", 1);
        if (threaded) c.log.connect_fails.wait_for(1);
        std::error_code ec;
        const auto took = time_of([&] { ec = c.client.disconnect(); });
        CHECK_FALSE(ec);
        CHECK(took < 1s);  // not the 5 s connect timeout
        CHECK(info.wait_for_publish(0ms) == mqtt::errc::disconnected);
        // Nothing of the old attempt ends a later session.
        CHECK(c.client.connect_async("127.0.0.1", port) == std::error_code{});
        CHECK_FALSE(c.client.disconnect());
    }
}

TEST_CASE("disconnect() driving the loop itself neither delivers nor acknowledges PUBLISHes that arrive",
          "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted());
    b.expect(packet_type::publish).reply(to_client(7, 1, "late"));
    b.reply([](const packet& last) { return puback{as<publish>(last).packet_id}; });
    b.expect(packet_type::disconnect).expect_closed();  // no PUBACK for id 7 before it
    b.start();

    scripted_client c("quiet");
    c.client.connect(b.host(), b.port());  // no loop thread: connect() ran the loop
    auto info = c.client.publish("t", "x", 1);
    REQUIRE_FALSE(c.client.disconnect());  // runs the loop until the goodbye
    CHECK_FALSE(info.wait_for_publish(0ms));
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK(c.log.messages.size() == 0);
}

TEST_CASE("An ack for an unknown packet id is logged and ignored; the connection stays up", "[client][scripted]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted()).reply(puback{999}).reply(pubcomp{998});
    b.expect(packet_type::publish).reply([](const packet& last) { return puback{as<publish>(last).packet_id}; });
    b.start();
    scripted_client c("unknownack");
    c.log.record_log(c.client);
    c.client.connect(b.host(), b.port());
    REQUIRE_FALSE(c.client.loop_start());
    REQUIRE(c.log.logs.wait_until([](const std::vector<log_entry>& logs) {
        std::size_t warnings = 0;
        for (const auto& l : logs) warnings += l.level == mqtt::log_level::warning;
        return warnings >= 2;
    }, wait_timeout));
    CHECK_FALSE(c.client.publish("t", "x", 1).wait_for_publish(wait_timeout));
    CHECK(c.client.is_connected());
    CHECK(c.log.disconnects.size() == 0);
    INFO(b.report());
    CHECK(b.wait_done());
}
