// The one-shot helpers, paho's publish.single/multiple and
// subscribe.simple/callback, against a real Mosquitto (and a scripted broker
// for a refused subscription, which Mosquitto never sends).

#include "client_test_helpers.hpp"

#include <mqtt/publish.hpp>
#include <mqtt/subscribe.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

using namespace client_test;
using mqtt_test::broker;

namespace {

mqtt::connect_options options_for(const broker& b, std::string client_id = {})
{
    mqtt::connect_options o;
    o.hostname = b.host();
    o.port = b.port();
    o.client_id = std::move(client_id);
    return o;
}

// Runs a blocking one-shot call on a thread of its own while `meanwhile`
// runs on this one. When the call has not returned within the bound, stops
// the broker so that it does (the connection ends) and returns false.
template <class Call, class Meanwhile>
bool run_alongside(broker& b, Call call, Meanwhile meanwhile, std::exception_ptr& thrown_by_call)
{
    bounded_thread t([&] {
        try {
            call();
        } catch (...) {
            thrown_by_call = std::current_exception();
        }
    });
    std::exception_ptr thrown_meanwhile;
    try {
        meanwhile();
    } catch (...) {
        thrown_meanwhile = std::current_exception();
    }
    const bool returned = t.done_within(thrown_meanwhile ? 100ms : wait_timeout);
    if (!returned) b.stop();
    if (thrown_meanwhile) {
        t.done_within(wait_timeout);
        std::rethrow_exception(thrown_meanwhile);
    }
    return returned;
}

// The broker has answered the SUBSCRIBE of client `id` `count` times.
void wait_for_subscription(const broker& b, const std::string& id, std::size_t count = 1)
{
    REQUIRE(wait_for_broker_log(b, "Sending SUBACK to " + id + "\n", wait_timeout, count));
}

std::vector<mqtt::message> messages_on(const std::vector<mqtt::message>& all, const std::string& topic)
{
    std::vector<mqtt::message> out;
    for (const auto& m : all)
        if (m.topic == topic) out.push_back(m);
    return out;
}

template <class F>
std::error_code error_of(F f)
{
    try {
        f();
    } catch (const mqtt::error& e) {
        return e.code();
    }
    return {};
}

}  // namespace

TEST_CASE("publish::single delivers at its QoS, then disconnects cleanly (no will)", "[oneshot]")
{
    broker b;
    const auto topic = unique_topic("single");
    test_client sub(unique_id("singlesub"));
    sub.start(b);
    sub.subscribe_and_wait(topic + "/#", 2);

    for (int qos = 0; qos <= 2; ++qos) {
        INFO("QoS " << qos);
        const auto id = unique_id("single");
        auto o = options_for(b, id);
        o.will = mqtt::will_options{topic + "/will", "gone", 1, false};
        mqtt::publish::single(topic + "/q" + std::to_string(qos), "payload " + std::to_string(qos), qos, false, o);
        CHECK(wait_for_broker_log(b, "Client " + id + " disconnected.\n"));
    }
    // A will (QoS 1) would have been routed before this QoS 1 marker.
    test_client marker(unique_id("singlemarker"));
    marker.start(b);
    REQUIRE_FALSE(marker.client.publish(topic + "/marker", "", 1).wait_for_publish(wait_timeout));
    REQUIRE(sub.messages().wait_for_topic(topic + "/marker"));
    REQUIRE(sub.messages().wait_for_topic(topic + "/q2"));  // delivered on PUBREL: may come after the marker

    for (int qos = 0; qos <= 2; ++qos) {
        INFO("QoS " << qos);
        const auto got = messages_on(sub.messages().items(), topic + "/q" + std::to_string(qos));
        REQUIRE(got.size() == 1);
        CHECK(got[0].payload == "payload " + std::to_string(qos));
        CHECK(got[0].qos == qos);
    }
    CHECK(messages_on(sub.messages().items(), topic + "/will").empty());
}

TEST_CASE("publish::multiple delivers every message at its own QoS and retain flag, in order per QoS", "[oneshot]")
{
    broker b;
    const auto topic = unique_topic("multiple");
    test_client sub(unique_id("multisub"));
    sub.start(b);
    sub.subscribe_and_wait(topic + "/#", 2);

    const std::vector<mqtt::outgoing_message> messages = {
        {topic + "/a", "zero", 0, false},
        {topic + "/b", pattern_payload(300), 1, false},
        {topic + "/c", "two", 2, false},
        {topic + "/kept", "retained", 1, true},
        {topic + "/d", "", 0, false},
    };
    mqtt::publish::multiple(messages, options_for(b, unique_id("multi")));

    REQUIRE(sub.messages().wait_for(messages.size()));
    const auto got = sub.messages().items();
    REQUIRE(got.size() == messages.size());
    // MQTT orders messages within one QoS; across QoS levels they may pass
    // each other (QoS 2 reaches on_message on PUBREL).
    for (int qos = 0; qos <= 2; ++qos) {
        std::vector<mqtt::outgoing_message> sent;
        for (const auto& m : messages)
            if (m.qos == qos) sent.push_back(m);
        std::vector<mqtt::message> arrived;
        for (const auto& m : got)
            if (m.qos == qos) arrived.push_back(m);
        INFO("QoS " << qos);
        REQUIRE(arrived.size() == sent.size());
        for (std::size_t i = 0; i < sent.size(); ++i) {
            CHECK(arrived[i].topic == sent[i].topic);
            CHECK(arrived[i].payload == sent[i].payload);
            CHECK_FALSE(arrived[i].retain);  // live delivery to an existing subscription
        }
    }
    // The broker kept the retained one: a new subscriber gets it at once.
    const auto kept = mqtt::subscribe::simple(topic + "/kept", 1, 1, true, options_for(b));
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].payload == "retained");
    CHECK(kept[0].retain);
}

TEST_CASE("publish::multiple waits for room instead of failing when the outgoing buffer is full", "[oneshot]")
{
    // More QoS 1 messages than the outgoing buffer holds (100 000 by
    // default): publishing outpaces the acknowledgements of a window of 20,
    // so without back-pressure this fails with queue_full. The broker queues
    // without bound for the subscriber (Mosquitto drops QoS 1 beyond 1000
    // queued by default).
    broker b(mqtt_test::broker_options{true, {}, {"max_queued_messages 0"}});
    const auto topic = unique_topic("many");
    test_client sub(unique_id("manysub"));
    sub.start(b);
    sub.subscribe_and_wait(topic, 1);
    constexpr std::size_t count = 110000;
    std::vector<mqtt::outgoing_message> messages(count, mqtt::outgoing_message{topic, "", 1, false});
    for (std::size_t i = 0; i < count; i += 10000) messages[i].payload = std::to_string(i);
    mqtt::publish::multiple(messages, options_for(b));
    REQUIRE(sub.messages().wait_for(count, bulk_timeout));
    const auto got = sub.messages().items();
    for (std::size_t i = 0; i < count; i += 10000) CHECK(got[i].payload == std::to_string(i));
}

TEST_CASE("subscribe::simple returns the next messages; retained ones are skipped when asked", "[oneshot]")
{
    broker b;
    const auto topic = unique_topic("simple");
    mqtt::publish::single(topic + "/old", "stale", 1, true, options_for(b));

    SECTION("retained false: only live messages count")
    {
        const auto id = unique_id("simple");
        std::vector<mqtt::message> got;
        std::exception_ptr thrown;
        const bool returned = run_alongside(
            b, [&] { got = mqtt::subscribe::simple(topic + "/#", 1, 2, false, options_for(b, id)); },
            [&] {
                wait_for_subscription(b, id);
                mqtt::publish::multiple({{topic + "/x", "one", 1, false}, {topic + "/y", "two", 0, false}},
                                        options_for(b));
            },
            thrown);
        REQUIRE(returned);
        if (thrown) std::rethrow_exception(thrown);
        REQUIRE(got.size() == 2);
        CHECK(got[0].topic == topic + "/x");
        CHECK(got[0].payload == "one");
        CHECK(got[0].qos == 1);
        CHECK(got[1].payload == "two");
        CHECK(got[1].qos == 0);
        CHECK(wait_for_broker_log(b, "Client " + id + " disconnected.\n"));
    }
    SECTION("retained true: the retained message is the first")
    {
        const auto got = mqtt::subscribe::simple(std::vector<std::string>{topic + "/#", topic + "/other"}, 2, 1,
                                                 true, options_for(b));
        REQUIRE(got.size() == 1);
        CHECK(got[0].topic == topic + "/old");
        CHECK(got[0].payload == "stale");
        CHECK(got[0].retain);
    }
}

TEST_CASE("subscribe::callback runs until the callback disconnects; a throwing callback ends it", "[oneshot]")
{
    broker b;
    const auto topic = unique_topic("callback");
    const auto id = unique_id("callback");
    std::vector<std::string> seen;

    SECTION("stops when the callback calls disconnect")
    {
        std::exception_ptr thrown;
        const bool returned = run_alongside(
            b,
            [&] {
                mqtt::subscribe::callback(
                    [&](mqtt::client& c, const mqtt::message& m) {
                        seen.push_back(m.payload);
                        if (m.payload == "stop") c.disconnect();
                    },
                    topic, 1, options_for(b, id));
            },
            [&] {
                wait_for_subscription(b, id);
                mqtt::publish::multiple(
                    {{topic, "a", 1, false}, {topic, "b", 1, false}, {topic, "stop", 1, false}},
                    options_for(b));
            },
            thrown);
        REQUIRE(returned);
        if (thrown) std::rethrow_exception(thrown);
        CHECK(seen == std::vector<std::string>{"a", "b", "stop"});
        CHECK(wait_for_broker_log(b, "Client " + id + " disconnected.\n"));
    }
    SECTION("the callback's exception reaches the caller")
    {
        std::exception_ptr thrown;
        const bool returned = run_alongside(
            b,
            [&] {
                mqtt::subscribe::callback(
                    [&](mqtt::client&, const mqtt::message& m) {
                        seen.push_back(m.payload);
                        throw std::runtime_error("callback gave up on " + m.payload);
                    },
                    std::vector<std::string>{topic}, 0, options_for(b, id));
            },
            [&] {
                wait_for_subscription(b, id);
                mqtt::publish::single(topic, "first", 1, false, options_for(b));
            },
            thrown);
        REQUIRE(returned);
        REQUIRE(thrown);
        try {
            std::rethrow_exception(thrown);
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()) == "callback gave up on first");
        }
        CHECK(seen == std::vector<std::string>{"first"});
    }
}

TEST_CASE("one-shot options reach the broker: client id, keepalive, protocol, clean session, auth", "[oneshot]")
{
    broker b(mqtt_test::broker_options{true, {{"alice", "secret"}}, {}});
    const auto topic = unique_topic("opts");

    auto o = options_for(b, unique_id("opts31"));
    o.protocol = mqtt::protocol_version::mqtt31;
    o.keepalive = 30;
    o.auth = mqtt::auth_options{"alice", "secret"};
    mqtt::publish::single(topic, "x", 0, false, o);
    CHECK(wait_for_broker_log(b, " as " + o.client_id + " (p1, c1, k30, u'alice')"));

    o.client_id = unique_id("opts311");
    o.protocol = mqtt::protocol_version::mqtt311;
    o.clean_session = false;
    o.keepalive = 45;
    mqtt::publish::single(topic, "x", 1, false, o);
    CHECK(wait_for_broker_log(b, " as " + o.client_id + " (p2, c0, k45, u'alice')"));

    o.auth = mqtt::auth_options{"alice", "wrong"};
    CHECK(error_of([&] { mqtt::publish::single(topic, "x", 0, false, o); }) ==
          mqtt::errc::connection_refused_not_authorized);
    o.auth.reset();
    CHECK(error_of([&] { mqtt::subscribe::simple(topic, 0, 1, true, o); }) ==
          mqtt::errc::connection_refused_not_authorized);
}

TEST_CASE("one-shot helpers reject bad input before connecting", "[oneshot]")
{
    silent_listener never_answers;  // connecting there would take the whole connect timeout
    mqtt::connect_options o;
    o.hostname = "127.0.0.1";
    o.port = never_answers.port();
    const auto started = steady::now();

    CHECK(error_of([&] { mqtt::publish::single("a/+", "x", 0, false, o); }) == mqtt::errc::invalid_topic);
    CHECK(error_of([&] { mqtt::publish::single("", "x", 0, false, o); }) == mqtt::errc::invalid_topic);
    CHECK(error_of([&] { mqtt::publish::single("a", "x", 3, false, o); }) == mqtt::errc::invalid_qos);
    CHECK(error_of([&] { mqtt::publish::multiple({{"ok", "x", 0, false}, {"bad\xff", "y", 0, false}}, o); }) ==
          mqtt::errc::invalid_topic);
    CHECK(error_of([&] { mqtt::subscribe::simple("a/#/b", 0, 1, true, o); }) == mqtt::errc::invalid_topic_filter);
    CHECK(error_of([&] { mqtt::subscribe::simple("a", 0, 0, true, o); }) == mqtt::errc::invalid_argument);
    CHECK(error_of([&] { mqtt::subscribe::simple("a", -1, 1, true, o); }) == mqtt::errc::invalid_qos);
    CHECK(error_of([&] { mqtt::subscribe::simple(std::vector<std::string>{}, 0, 1, true, o); }) ==
          mqtt::errc::invalid_argument);
    CHECK(error_of([&] { mqtt::subscribe::callback({}, "a", 0, o); }) == mqtt::errc::invalid_argument);
    o.will = mqtt::will_options{"w/#", "x", 0, false};
    CHECK(error_of([&] { mqtt::publish::single("a", "x", 0, false, o); }) == mqtt::errc::invalid_topic);

    CHECK(steady::now() - started < std::chrono::milliseconds(3000));  // one connect attempt would take 5 s
}

TEST_CASE("one-shot helpers name a refused connection, a refused subscription and a lost connection",
          "[oneshot]")
{
    SECTION("nothing listens")
    {
        broker b;
        const auto o = options_for(b);
        b.stop();
        try {
            mqtt::publish::single("a", "x", 0, false, o);
            FAIL("publish::single returned without a broker");
        } catch (const mqtt::error& e) {
            CHECK(e.code() == std::errc::connection_refused);
            CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(o.port)) != std::string::npos);
        }
    }
    SECTION("the broker refuses the subscription")
    {
        silent_after_connack_broker refuses(true);
        mqtt::connect_options o;
        o.hostname = "127.0.0.1";
        o.port = refuses.port();
        CHECK(error_of([&] { mqtt::subscribe::simple("a/b", 1, 1, true, o); }) == mqtt::errc::subscription_refused);
    }
    SECTION("the broker goes away while subscribe::simple waits")
    {
        broker b;
        const auto id = unique_id("lost");
        std::exception_ptr thrown;
        const bool returned = run_alongside(
            b, [&] { mqtt::subscribe::simple("a/b", 1, 1, true, options_for(b, id)); },
            [&] {
                wait_for_subscription(b, id);
                b.kill();
            },
            thrown);
        REQUIRE(returned);
        REQUIRE(thrown);
        try {
            std::rethrow_exception(thrown);
        } catch (const mqtt::error& e) {
            CHECK(e.code() == mqtt::errc::connection_lost);
        }
    }
}
