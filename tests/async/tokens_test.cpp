// mqtt::async_client's operations with each kind of completion token: a plain
// callback, asio::use_future (the io_context run by another thread) and
// asio::experimental::deferred; the same round trip through a real Mosquitto
// each time. Plus async_receive's order, and bad arguments that complete with
// the precise errc instead of throwing. (C++20 coroutines: coroutine_test.cpp.)

#include "async_test_helpers.hpp"

#include <asio/bind_executor.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>
#include <asio/use_future.hpp>

#include <future>

using namespace async_test;
using mqtt_test::broker;

TEST_CASE("callbacks: connect, subscribe, publish, receive, unsubscribe, disconnect chained in handlers",
          "[async][tokens]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("cb"));
    const auto topic = unique_topic("cb");

    std::vector<std::string> steps;
    std::error_code first_error;
    mqtt::message received;
    int mid = -1;
    auto fail = [&](const char* step, std::error_code ec) {
        if (ec && !first_error) {
            first_error = ec;
            steps.push_back(std::string(step) + " failed");
        }
        return static_cast<bool>(ec);
    };

    c.async_connect(b.host(), b.port(), 60, [&](std::error_code ec1, bool session_present) {
        if (fail("connect", ec1)) return;
        steps.push_back(session_present ? "connected (session present)" : "connected");
        c.async_subscribe(topic, 1, [&](std::error_code ec2, std::vector<int> granted) {
            if (fail("subscribe", ec2)) return;
            steps.push_back("subscribed " + std::to_string(granted.size() == 1 ? granted[0] : -1));
            c.async_receive([&](std::error_code ec3, mqtt::message m) {
                if (fail("receive", ec3)) return;
                received = std::move(m);
                steps.push_back("received");
                c.async_unsubscribe(topic, [&](std::error_code ec4) {
                    if (fail("unsubscribe", ec4)) return;
                    steps.push_back("unsubscribed");
                    c.async_disconnect([&](std::error_code ec5) {
                        if (fail("disconnect", ec5)) return;
                        steps.push_back("disconnected");
                    });
                });
            });
            c.async_publish(topic, "hello", 1, false, [&](std::error_code ec3, int m) {
                if (fail("publish", ec3)) return;
                mid = m;
                steps.push_back("published");
            });
        });
    });
    CHECK(steps.empty());  // nothing completes inside an initiating function

    // The io_context runs out of work once the client disconnected: a client
    // with nothing pending keeps no io_context busy.
    CHECK(run_to_completion(io));
    INFO("first error: " << first_error.message());
    CHECK_FALSE(first_error);
    // The PUBACK and the message may arrive in either order.
    REQUIRE(steps.size() == 6);
    CHECK(steps[0] == "connected");
    CHECK(steps[1] == "subscribed 1");
    CHECK(steps[4] == "unsubscribed");
    CHECK(steps[5] == "disconnected");
    CHECK(((steps[2] == "published" && steps[3] == "received") ||
           (steps[2] == "received" && steps[3] == "published")));
    CHECK(mid > 0);
    CHECK(received.topic == topic);
    CHECK(received.payload == "hello");
    CHECK(received.qos == 1);
    CHECK_FALSE(received.retain);
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("callbacks run on the io_context's thread, never inside the initiating call", "[async][tokens]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("cbthr"));
    connect_outcome connected;
    c.async_connect(b.host(), b.port(), 60, connected.handler());
    CHECK_FALSE(connected.done());

    std::thread::id io_thread;
    std::thread runner([&] {
        io_thread = std::this_thread::get_id();
        run_until(io, [&] { return connected.done(); });
    });
    runner.join();
    REQUIRE(connected.done());
    CHECK_FALSE(connected.ec);
    CHECK(connected.thread == io_thread);

    // An immediate failure (bad argument) is posted too.
    publish_outcome bad;
    c.async_publish("a/+", "x", 0, false, bad.handler());
    CHECK_FALSE(bad.done());
    REQUIRE(run_until(io, [&] { return bad.done(); }));
    CHECK(bad.ec == mqtt::errc::invalid_topic);
}

TEST_CASE("use_future: the same round trip with the io_context on its own thread", "[async][tokens]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("fut"));
    const auto topic = unique_topic("fut");
    io_threads loop(io);

    auto connected = c.async_connect(b.host(), b.port(), 60, asio::use_future);
    REQUIRE(connected.wait_for(wait_timeout) == std::future_status::ready);
    CHECK_FALSE(connected.get());  // clean session: no session present
    CHECK(c.is_connected());

    auto subscribed = c.async_subscribe(topic, 2, asio::use_future);
    REQUIRE(subscribed.wait_for(wait_timeout) == std::future_status::ready);
    CHECK(subscribed.get() == std::vector<int>{2});

    std::vector<std::future<int>> published;
    for (int qos = 0; qos <= 2; ++qos)
        published.push_back(c.async_publish(topic, "q" + std::to_string(qos), qos, false, asio::use_future));
    std::vector<int> mids;
    for (auto& f : published) {
        REQUIRE(f.wait_for(wait_timeout) == std::future_status::ready);
        mids.push_back(f.get());
    }
    // Every publish has its own message id (paho's mid), QoS 0 included.
    CHECK(mids[0] > 0);
    CHECK(mids[1] > 0);
    CHECK(mids[2] > 0);
    CHECK(mids[0] != mids[1]);
    CHECK(mids[1] != mids[2]);

    std::vector<std::string> payloads;
    for (int i = 0; i < 3; ++i) {
        auto m = c.async_receive(asio::use_future);
        REQUIRE(m.wait_for(wait_timeout) == std::future_status::ready);
        const auto msg = m.get();
        CHECK(msg.topic == topic);
        payloads.push_back(msg.payload);
    }
    std::sort(payloads.begin(), payloads.end());  // order across QoS levels is not promised
    CHECK(payloads == std::vector<std::string>{"q0", "q1", "q2"});

    auto unsubscribed = c.async_unsubscribe(topic, asio::use_future);
    REQUIRE(unsubscribed.wait_for(wait_timeout) == std::future_status::ready);
    CHECK_NOTHROW(unsubscribed.get());

#if !defined(__SANITIZE_THREAD__)
    // A failure arrives as the future's exception, a std::system_error with
    // the precise code. (Not under TSan: the exception_ptr travels between
    // Asio's system_context thread, which completes use_future handlers, and
    // this one, and its reference count lives in the uninstrumented
    // libstdc++: TSan reports a race on its release that is not one.)
    auto bad = c.async_publish(topic, "x", 3, false, asio::use_future);
    REQUIRE(bad.wait_for(wait_timeout) == std::future_status::ready);
    std::error_code bad_code;
    try {
        bad.get();
    } catch (const std::system_error& e) {
        bad_code = e.code();
    }
    CHECK(bad_code == mqtt::errc::invalid_qos);
#endif

    auto disconnected = c.async_disconnect(asio::use_future);
    REQUIRE(disconnected.wait_for(wait_timeout) == std::future_status::ready);
    CHECK_NOTHROW(disconnected.get());
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("asio::experimental::deferred: nothing starts until the deferred operation is launched",
          "[async][tokens]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("def"));
    const auto topic = unique_topic("def");

    auto connect_op = c.async_connect(b.host(), b.port(), 60, asio::experimental::deferred);
    // Not launched yet: no connection attempt.
    CHECK(run_to_completion(io, 200ms));
    CHECK_FALSE(c.is_connected());

    connect_outcome connected;
    std::move(connect_op)(connected.handler());
    REQUIRE(run_until(io, [&] { return connected.done(); }));
    CHECK_FALSE(connected.ec);
    CHECK(c.is_connected());

    subscribe_or_fail(io, c, topic, 1);

    // A deferred publish and a deferred receive, launched later with
    // callbacks; deferred operations compose: the receive is the publish's
    // continuation.
    receive_outcome received;
    publish_outcome published;
    auto publish_op = c.async_publish(topic, "deferred", 1, false, asio::experimental::deferred);
    auto receive_op = c.async_receive(asio::experimental::deferred);
    std::move(publish_op)([&, receive_op = std::move(receive_op)](std::error_code ec, int mid) mutable {
        published.handler()(ec, mid);
        std::move(receive_op)(received.handler());
    });
    REQUIRE(run_until(io, [&] { return published.done() && received.done(); }));
    CHECK_FALSE(published.ec);
    CHECK(published.value() > 0);
    CHECK_FALSE(received.ec);
    CHECK(received.value().payload == "deferred");
    CHECK(received.value().topic == topic);
    CHECK(published.calls == 1);
    CHECK(received.calls == 1);

    void_outcome disconnected;
    c.async_disconnect(asio::experimental::deferred)(disconnected.handler());
    REQUIRE(run_until(io, [&] { return disconnected.done(); }));
    CHECK_FALSE(disconnected.ec);
}

TEST_CASE("a handler bound to a strand runs on that strand", "[async][tokens]")
{
    broker b;
    asio::io_context io;
    auto strand = asio::make_strand(io);
    mqtt::async_client c(io, unique_id("strand"));
    connect_outcome connected;
    bool on_strand = false;
    c.async_connect(b.host(), b.port(), 60, asio::bind_executor(strand, [&](std::error_code ec, bool sp) {
                        on_strand = strand.running_in_this_thread();
                        connected.handler()(ec, sp);
                    }));
    REQUIRE(run_until(io, [&] { return connected.done(); }));
    CHECK_FALSE(connected.ec);
    CHECK(on_strand);
}

TEST_CASE("a client built from an executor works as one built from the io_context", "[async][tokens]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io.get_executor(), unique_id("exec"));
    CHECK(c.get_executor() == asio::any_io_executor(io.get_executor()));
    connect_or_fail(io, c, b.host(), b.port());
    const auto topic = unique_topic("exec");
    subscribe_or_fail(io, c, topic, 0);
    publish_outcome published;
    receive_outcome received;
    c.async_publish(topic, "x", 0, false, published.handler());
    c.async_receive(received.handler());
    REQUIRE(run_until(io, [&] { return published.done() && received.done(); }));
    CHECK_FALSE(published.ec);
    CHECK(received.value().payload == "x");
}

TEST_CASE("async_receive delivers messages in arrival order, queued ones wait for the next call",
          "[async][receive]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("recv"));
    const auto topic = unique_topic("recv");
    connect_or_fail(io, c, b.host(), b.port());
    subscribe_or_fail(io, c, topic + "/#", 1);

    // Ten messages arrive before anybody asks: they are held, none lost.
    constexpr int count = 10;
    int acked = 0;
    for (int i = 0; i < count; ++i)
        c.async_publish(topic + "/" + std::to_string(i), std::to_string(i), 1, false,
                        [&](std::error_code ec, int) { acked += ec ? 0 : 1; });
    REQUIRE(run_until(io, [&] { return acked == count; }));

    std::vector<mqtt::message> got;
    for (int i = 0; i < count; ++i) {
        receive_outcome r;
        c.async_receive(r.handler());
        REQUIRE(run_until(io, [&] { return r.done(); }));
        REQUIRE_FALSE(r.ec);
        got.push_back(r.value());
    }
    for (int i = 0; i < count; ++i) {
        CHECK(got[static_cast<std::size_t>(i)].topic == topic + "/" + std::to_string(i));
        CHECK(got[static_cast<std::size_t>(i)].payload == std::to_string(i));
        CHECK(got[static_cast<std::size_t>(i)].qos == 1);
    }

    // With on_message set, messages go there and not to async_receive.
    std::vector<std::string> via_callback;
    c.on_message = [&](mqtt::async_client&, const mqtt::message& m) { via_callback.push_back(m.payload); };
    receive_outcome waiting;
    c.async_receive(waiting.handler());
    publish_outcome p;
    c.async_publish(topic + "/cb", "callback", 1, false, p.handler());
    REQUIRE(run_until(io, [&] { return via_callback.size() == 1; }));
    CHECK(via_callback[0] == "callback");
    CHECK_FALSE(waiting.done());

    // When the session ends, a waiting async_receive completes with
    // errc::disconnected.
    void_outcome disconnected;
    c.async_disconnect(disconnected.handler());
    REQUIRE(run_until(io, [&] { return disconnected.done() && waiting.done(); }));
    CHECK_FALSE(disconnected.ec);
    CHECK(waiting.ec == mqtt::errc::disconnected);
    CHECK(waiting.calls == 1);
}

TEST_CASE("per-filter callbacks on an async_client", "[async][receive]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("filt"));
    const auto topic = unique_topic("filt");
    connect_or_fail(io, c, b.host(), b.port());
    subscribe_or_fail(io, c, topic + "/#", 0);
    std::vector<std::string> temperature, fallback;
    c.message_callback_add(topic + "/+/temperature",
                           [&](mqtt::async_client&, const mqtt::message& m) { temperature.push_back(m.payload); });
    c.on_message = [&](mqtt::async_client&, const mqtt::message& m) { fallback.push_back(m.payload); };
    c.async_publish(topic + "/kitchen/temperature", "21.5", 0, false, [](std::error_code, int) {});
    c.async_publish(topic + "/kitchen/humidity", "40", 0, false, [](std::error_code, int) {});
    REQUIRE(run_until(io, [&] { return temperature.size() == 1 && fallback.size() == 1; }));
    CHECK(temperature[0] == "21.5");
    CHECK(fallback[0] == "40");
    CHECK(c.message_callback_remove(topic + "/+/temperature"));
    CHECK_FALSE(c.message_callback_remove(topic + "/+/temperature"));
}

TEST_CASE("bad arguments complete with the precise errc and never throw", "[async][bad_input]")
{
    asio::io_context io;
    mqtt::async_client c(io, unique_id("bad"));

    // Validation comes before the state check: the client is not even connected.
    struct publish_case {
        std::string topic;
        int qos;
        mqtt::errc expected;
    };
    const std::vector<publish_case> publishes = {
        {"a/+/b", 0, mqtt::errc::invalid_topic},
        {"a/#", 1, mqtt::errc::invalid_topic},
        {"", 0, mqtt::errc::invalid_topic},
        {std::string("a\xff", 2), 0, mqtt::errc::invalid_utf8},
        {std::string("a\0b", 3), 0, mqtt::errc::utf8_null_character},
        {std::string(65536, 'a'), 0, mqtt::errc::string_too_long},
        {"a", 3, mqtt::errc::invalid_qos},
        {"a", -1, mqtt::errc::invalid_qos},
    };
    std::vector<publish_outcome> pub(publishes.size());
    for (std::size_t i = 0; i < publishes.size(); ++i)
        CHECK_NOTHROW(c.async_publish(publishes[i].topic, "x", publishes[i].qos, false, pub[i].handler()));

    struct filter_case {
        std::string filter;
        int qos;
        mqtt::errc expected;
    };
    const std::vector<filter_case> subscribes = {
        {"a/#/b", 0, mqtt::errc::invalid_topic_filter},
        {"a+", 1, mqtt::errc::invalid_topic_filter},
        {"", 0, mqtt::errc::invalid_topic_filter},
        {"a/#", 3, mqtt::errc::invalid_qos},
        {"a/#", -1, mqtt::errc::invalid_qos},
    };
    std::vector<subscribe_outcome> sub(subscribes.size());
    for (std::size_t i = 0; i < subscribes.size(); ++i)
        CHECK_NOTHROW(c.async_subscribe(subscribes[i].filter, subscribes[i].qos, sub[i].handler()));
    subscribe_outcome sub_list, sub_empty;
    CHECK_NOTHROW(c.async_subscribe(std::vector<std::pair<std::string, int>>{{"ok/1", 0}, {"ok/2", 3}},
                                    sub_list.handler()));
    CHECK_NOTHROW(c.async_subscribe(std::vector<std::pair<std::string, int>>{}, sub_empty.handler()));

    void_outcome unsub, unsub_list, unsub_empty;
    CHECK_NOTHROW(c.async_unsubscribe("a/#/b", unsub.handler()));
    CHECK_NOTHROW(c.async_unsubscribe(std::vector<std::string>{"ok", "a+"}, unsub_list.handler()));
    CHECK_NOTHROW(c.async_unsubscribe(std::vector<std::string>{}, unsub_empty.handler()));

    CHECK(run_to_completion(io));
    for (std::size_t i = 0; i < publishes.size(); ++i) {
        INFO("publish to '" << publishes[i].topic.substr(0, 20) << "' with QoS " << publishes[i].qos);
        CHECK(pub[i].calls == 1);
        CHECK(pub[i].ec == publishes[i].expected);
    }
    for (std::size_t i = 0; i < subscribes.size(); ++i) {
        INFO("subscribe to '" << subscribes[i].filter << "' with QoS " << subscribes[i].qos);
        CHECK(sub[i].calls == 1);
        CHECK(sub[i].ec == subscribes[i].expected);
    }
    CHECK(sub_list.ec == mqtt::errc::invalid_qos);
    CHECK(sub_empty.ec == mqtt::errc::invalid_argument);
    CHECK(unsub.ec == mqtt::errc::invalid_topic_filter);
    CHECK(unsub_list.ec == mqtt::errc::invalid_topic_filter);
    CHECK(unsub_empty.ec == mqtt::errc::invalid_argument);

    // Valid arguments before any connect: a state error, not an exception.
    publish_outcome not_connected;
    void_outcome disconnect_first;
    CHECK_NOTHROW(c.async_publish("a/b", "x", 1, false, not_connected.handler()));
    CHECK_NOTHROW(c.async_disconnect(disconnect_first.handler()));
    CHECK(run_to_completion(io));
    CHECK(not_connected.ec == mqtt::errc::not_connected);
    CHECK(disconnect_first.ec == mqtt::errc::not_connected);
}

TEST_CASE("async_connect failures complete with the cause: refused port, CONNACK refusal",
          "[async][connect]")
{
    asio::io_context io;
    {
        mqtt::async_client c(io, unique_id("refused"));
        connect_outcome r;
        c.async_connect("127.0.0.1", mqtt_test::free_loopback_port(), 60, r.handler());
        REQUIRE(run_until(io, [&] { return r.done(); }));
        CHECK(r.ec == std::errc::connection_refused);  // portable: the code is std::system_category's
        CHECK_FALSE(c.is_connected());
    }
    {
        mqtt_test::scripted_broker b;
        b.accept().expect(proto::packet_type::connect).reply(proto::connack{false, proto::connack_code::not_authorized});
        b.start();
        mqtt::async_client c(io, unique_id("notauth"));
        connect_outcome r;
        c.async_connect(b.host(), b.port(), 60, r.handler());
        REQUIRE(run_until(io, [&] { return r.done(); }));
        INFO(b.report());
        CHECK(b.wait_done());
        CHECK(r.ec == mqtt::errc::connection_refused_not_authorized);
        CHECK(r.calls == 1);
    }
    {
        // A list of servers: the first refuses the TCP connection, the second accepts.
        broker good;
        mqtt::async_client c(io, unique_id("list"));
        connect_outcome r;
        const std::vector<mqtt::server> servers = {{"127.0.0.1", mqtt_test::free_loopback_port()},
                                                   {good.host(), good.port()}};
        c.async_connect(servers, 60, r.handler());
        REQUIRE(run_until(io, [&] { return r.done(); }));
        CHECK_FALSE(r.ec);
        CHECK(c.is_connected());
    }
}
