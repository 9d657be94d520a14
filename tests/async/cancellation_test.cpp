// Per-operation cancellation through Asio's cancellation slots
// (asio::bind_cancellation_slot + asio::cancellation_signal): a queued
// publish is withdrawn and never sent; one already sent completes at once
// while the exchange finishes in the background; a cancelled async_receive
// loses no message; a cancelled subscribe still takes effect; a cancelled
// async_connect stops connecting.

#include "async_test_helpers.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace async_test;
using mqtt_test::broker;
using mqtt_test::scripted_broker;
using proto::packet_type;

namespace {

// The scripted PUBLISH must carry `payload` (check function for expect()).
scripted_broker::check_function payload_is(std::string payload)
{
    return [payload](const proto::packet& p) {
        const auto got = as<proto::publish>(p).payload;
        if (got != payload) throw std::runtime_error("PUBLISH with payload '" + got + "', expected '" + payload + "'");
    };
}

// A PUBACK for the PUBLISH the last expect() took.
proto::packet puback_for_last(const proto::packet& last)
{
    return proto::puback{as<proto::publish>(last).packet_id};
}

}  // namespace

TEST_CASE("cancelling a publish still queued behind a full in-flight window withdraws it: never sent",
          "[async][cancel]")
{
    // In-flight window 1: "1" goes out, "2" waits in the queue. The broker
    // holds its PUBACK until the test cancelled "2" and published "3"; then
    // the next PUBLISH it sees must be "3".
    gate cancelled;  // outlives the broker, whose thread may wait on it
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted());
    b.expect(packet_type::publish, payload_is("1"));
    b.run([&] {
        if (!cancelled.wait()) throw std::runtime_error("the test did not cancel in time");
    });
    b.reply(puback_for_last);
    b.expect(packet_type::publish, payload_is("3")).reply(puback_for_last);
    b.start();

    asio::io_context io;
    mqtt::async_client c(io, unique_id("cqueue"));
    c.max_inflight_messages_set(1);
    connect_or_fail(io, c, b.host(), b.port());

    asio::cancellation_signal signal;
    publish_outcome one, two, three;
    c.async_publish("t", "1", 1, false, one.handler());
    c.async_publish("t", "2", 1, false, asio::bind_cancellation_slot(signal.slot(), two.handler()));
    // "1" reached the broker: "2" is queued behind it.
    REQUIRE(run_until(io, [&] { return published_payloads(b).size() == 1; }));
    CHECK(c.queued_messages() >= 1);

    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return two.done(); }));
    CHECK(two.ec == asio::error::operation_aborted);
    CHECK_FALSE(one.done());

    c.async_publish("t", "3", 1, false, three.handler());
    cancelled.open();
    REQUIRE(run_until(io, [&] { return one.done() && three.done(); }));
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK_FALSE(one.ec);
    CHECK_FALSE(three.ec);
    CHECK(two.calls == 1);
    CHECK(published_payloads(b) == std::vector<std::string>{"1", "3"});
}

TEST_CASE("cancelling a queued QoS 0 publish withdraws it too: the subscriber never sees it", "[async][cancel]")
{
    // Cancelled before the io_context ran again, so before the engine could
    // write it: the message must not reach the (real) broker at all.
    broker b;
    asio::io_context io;
    const auto topic = unique_topic("cq0");
    mqtt::async_client sub(io, unique_id("cq0sub"));
    connect_or_fail(io, sub, b.host(), b.port());
    subscribe_or_fail(io, sub, topic, 0);

    mqtt::async_client pub(io, unique_id("cq0pub"));
    connect_or_fail(io, pub, b.host(), b.port());

    asio::cancellation_signal signal;
    publish_outcome withdrawn, sent;
    pub.async_publish(topic, "withdrawn", 0, false, asio::bind_cancellation_slot(signal.slot(), withdrawn.handler()));
    signal.emit(asio::cancellation_type::terminal);  // the io_context has not run since: not written yet
    pub.async_publish(topic, "sent", 0, false, sent.handler());

    receive_outcome received;
    sub.async_receive(received.handler());
    REQUIRE(run_until(io, [&] { return withdrawn.done() && sent.done() && received.done(); }));
    CHECK(withdrawn.ec == asio::error::operation_aborted);
    CHECK_FALSE(sent.ec);
    // "sent" is the first (and only) message the subscriber gets.
    CHECK(received.value().payload == "sent");

    // Nothing else arrives: a marker published after it comes next.
    publish_outcome marker;
    receive_outcome next;
    pub.async_publish(topic, "marker", 1, false, marker.handler());
    sub.async_receive(next.handler());
    REQUIRE(run_until(io, [&] { return next.done(); }));
    CHECK(next.value().payload == "marker");
}

TEST_CASE("cancelling a publish already sent completes it at once, the late PUBACK is absorbed",
          "[async][cancel]")
{
    gate cancelled;  // outlives the broker, whose thread may wait on it
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(accepted());
    b.expect(packet_type::publish, payload_is("in flight"));
    b.run([&] {
        if (!cancelled.wait()) throw std::runtime_error("the test did not cancel in time");
    });
    b.reply(puback_for_last);  // the PUBACK for the cancelled message, late
    b.expect(packet_type::publish, payload_is("next")).reply(puback_for_last);
    b.start();

    asio::io_context io;
    mqtt::async_client c(io, unique_id("cflight"));
    connect_or_fail(io, c, b.host(), b.port());

    asio::cancellation_signal signal;
    publish_outcome in_flight;
    c.async_publish("t", "in flight", 1, false, asio::bind_cancellation_slot(signal.slot(), in_flight.handler()));
    REQUIRE(run_until(io, [&] { return published_payloads(b).size() == 1; }));
    CHECK_FALSE(in_flight.done());  // no PUBACK yet

    // At once: within a few turns of the loop, with no PUBACK ever needed.
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return in_flight.done(); }, 1000ms));
    CHECK(in_flight.ec == asio::error::operation_aborted);

    // The exchange finishes in the background: the late PUBACK completes
    // nothing a second time, and the session goes on.
    cancelled.open();
    publish_outcome next;
    c.async_publish("t", "next", 1, false, next.handler());
    REQUIRE(run_until(io, [&] { return next.done(); }));
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK_FALSE(next.ec);
    CHECK(in_flight.calls == 1);
    CHECK(c.is_connected());
}

TEST_CASE("cancelling async_receive: operation_aborted, and the next message goes to the next receive",
          "[async][cancel][receive]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("crecv"));
    const auto topic = unique_topic("crecv");
    connect_or_fail(io, c, b.host(), b.port());
    subscribe_or_fail(io, c, topic, 1);

    asio::cancellation_signal signal;
    receive_outcome cancelled;
    c.async_receive(asio::bind_cancellation_slot(signal.slot(), cancelled.handler()));
    run_ready(io);  // the receive is waiting in the client now
    CHECK_FALSE(cancelled.done());
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return cancelled.done(); }));
    CHECK(cancelled.ec == asio::error::operation_aborted);

    publish_outcome published;
    c.async_publish(topic, "kept", 1, false, published.handler());
    receive_outcome next;
    c.async_receive(next.handler());
    REQUIRE(run_until(io, [&] { return next.done() && published.done(); }));
    CHECK_FALSE(next.ec);
    CHECK(next.value().payload == "kept");
    CHECK(cancelled.calls == 1);

    // A receive cancelled in the very turn it was issued, while a message is
    // on its way: either it got the message before the cancel took effect,
    // or it was aborted and the message waits for the next receive. Never
    // both, never neither.
    publish_outcome queued_pub;
    c.async_publish(topic, "queued", 1, false, queued_pub.handler());
    REQUIRE(run_until(io, [&] { return queued_pub.done(); }));
    asio::cancellation_signal signal2;
    receive_outcome raced;
    c.async_receive(asio::bind_cancellation_slot(signal2.slot(), raced.handler()));
    signal2.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return raced.done(); }));
    CHECK(raced.calls == 1);
    if (raced.ec) {
        CHECK(raced.ec == asio::error::operation_aborted);
        receive_outcome again;
        c.async_receive(again.handler());
        REQUIRE(run_until(io, [&] { return again.done(); }));
        CHECK_FALSE(again.ec);
        CHECK(again.value().payload == "queued");
    } else {
        CHECK(raced.value().payload == "queued");
    }
}

TEST_CASE("cancelling async_subscribe completes the handler at once, the subscription still takes effect",
          "[async][cancel]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("csub"));
    const auto topic = unique_topic("csub");
    connect_or_fail(io, c, b.host(), b.port());

    asio::cancellation_signal signal;
    subscribe_outcome subscribed;
    c.async_subscribe(topic, 1, asio::bind_cancellation_slot(signal.slot(), subscribed.handler()));
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return subscribed.done(); }));
    CHECK(subscribed.ec == asio::error::operation_aborted);

    // The request went on: the broker routes the topic to this client. (The
    // SUBSCRIBE precedes the PUBLISH on the wire, so the broker has it.)
    publish_outcome published;
    receive_outcome received;
    c.async_publish(topic, "subscribed anyway", 1, false, published.handler());
    c.async_receive(received.handler());
    REQUIRE(run_until(io, [&] { return received.done(); }));
    CHECK_FALSE(received.ec);
    CHECK(received.value().payload == "subscribed anyway");
    CHECK(subscribed.calls == 1);

    // Same for unsubscribe: handler aborted, the UNSUBSCRIBE still goes.
    asio::cancellation_signal signal2;
    void_outcome unsubscribed;
    c.async_unsubscribe(topic, asio::bind_cancellation_slot(signal2.slot(), unsubscribed.handler()));
    signal2.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return unsubscribed.done(); }));
    CHECK(unsubscribed.ec == asio::error::operation_aborted);
    publish_outcome after;
    c.async_publish(topic, "not routed", 1, false, after.handler());
    REQUIRE(run_until(io, [&] { return after.done(); }));
    CHECK_FALSE(after.ec);
    // The broker dropped the subscription: a marker on a second
    // subscription is the next message, "not routed" never arrives (the
    // broker would have routed it before acknowledging it).
    subscribe_or_fail(io, c, topic + "/marker", 1);
    c.async_publish(topic + "/marker", "marker", 1, false, [](std::error_code, int) {});
    receive_outcome next;
    c.async_receive(next.handler());
    REQUIRE(run_until(io, [&] { return next.done(); }));
    CHECK(next.value().payload == "marker");
}

TEST_CASE("cancelling async_connect against a broker that never answers stops connecting", "[async][cancel][connect]")
{
    // The broker takes the CONNECT and never sends CONNACK; the client must
    // close the connection once cancelled.
    scripted_broker b;
    b.accept().expect(packet_type::connect).expect_closed(wait_timeout);
    b.start();

    asio::io_context io;
    mqtt::async_client c(io, unique_id("cconn"));
    c.connect_timeout_set(std::chrono::seconds(60));  // the cancel, not the timeout, ends it
    asio::cancellation_signal signal;
    connect_outcome connected;
    c.async_connect(b.host(), b.port(), 60, asio::bind_cancellation_slot(signal.slot(), connected.handler()));
    REQUIRE(run_until(io, [&] { return b.received().size() == 1; }));  // the CONNECT arrived
    CHECK_FALSE(connected.done());

    const auto took = steady::now();
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return connected.done(); }, 2000ms));
    CHECK(connected.ec == asio::error::operation_aborted);
    CHECK(steady::now() - took < 2s);
    CHECK_FALSE(c.is_connected());
    // The connection is closed, no reconnect follows.
    REQUIRE(run_until(io, [&] { return b.wait_done(0ms); }));
    INFO(b.report());
    CHECK(b.failures().empty());
    CHECK(b.connections_accepted() == 1);
    CHECK(connected.calls == 1);

    // The client is usable again: a new async_connect to a real broker works.
    broker real;
    connect_or_fail(io, c, real.host(), real.port());
}

TEST_CASE("cancelling async_connect while the TCP handshake itself hangs", "[async][cancel][connect]")
{
    // A listener with backlog 0 that never accepts, its queue filled by one
    // connection: Linux drops further SYNs, so the client's TCP connect
    // hangs (the SYN is retried for minutes).
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 0) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    const int filler = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(::connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

    asio::io_context io;
    {
        mqtt::async_client c(io, unique_id("ctcp"));
        c.connect_timeout_set(std::chrono::seconds(60));
        asio::cancellation_signal signal;
        connect_outcome connected;
        c.async_connect("127.0.0.1", ntohs(addr.sin_port), 60,
                        asio::bind_cancellation_slot(signal.slot(), connected.handler()));
        run_ready(io);
        CHECK_FALSE(connected.done());
        signal.emit(asio::cancellation_type::terminal);
        REQUIRE(run_until(io, [&] { return connected.done(); }, 2000ms));
        CHECK(connected.ec == asio::error::operation_aborted);
        CHECK(connected.calls == 1);
        CHECK_FALSE(c.is_connected());
        // Nothing of the attempt is left on the io_context.
        CHECK(run_to_completion(io, 2000ms));
    }
    ::close(filler);
    ::close(listener);
}
