// The connection's life: CONNACK handling, loss with and without
// reconnect, and the clean goodbye.

#include "session/session_harness.hpp"

using namespace session_test;
using mqtt::session::connected;
using mqtt::session::disconnected;
using mqtt::session::published;

TEST_CASE("CONNACK refusals close with the matching error; codes 6..255 are an unknown refusal", "[session]")
{
    const std::pair<int, errc> cases[] = {
        {1, errc::connection_refused_protocol_version},
        {2, errc::connection_refused_identifier_rejected},
        {3, errc::connection_refused_server_unavailable},
        {4, errc::connection_refused_bad_username_password},
        {5, errc::connection_refused_not_authorized},
        {6, errc::connection_refused_unknown_code},
        {255, errc::connection_refused_unknown_code},
    };
    for (const auto& [code, expected] : cases) {
        harness h;
        h.open();
        h.receive(connack{false, static_cast<connack_code>(code)});
        const auto close = h.s.take_close_request();
        REQUIRE(close);
        CHECK(*close == expected);
        const auto acks = h.events_of<connected>();
        REQUIRE(acks.size() == 1);
        CHECK(acks[0].return_code == code);
        CHECK(h.s.state() == link_state::connecting);
    }
}

TEST_CASE("CONNACK with session present after a clean-session CONNECT is a protocol error", "[session]")
{
    harness h;
    h.open(true);
    h.receive(connack{true, connack_code::accepted});
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::protocol_error);
    CHECK(h.events_of<connected>().empty());
}

TEST_CASE("A packet before CONNACK, or a second CONNACK, closes with unexpected_packet", "[session]")
{
    harness h;
    h.open();
    h.receive(puback{1});
    auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::unexpected_packet);
    h.lose();
    h.open();
    h.connack_and_write();
    h.receive(connack{false, connack_code::accepted});
    close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::unexpected_packet);
}

TEST_CASE("Without reconnect, a lost link fails every pending publish with connection_lost at once", "[session]")
{
    harness h;
    h.s.config().reconnect = false;
    h.up();
    h.publish("t", "in flight", 1, 1);
    h.write();
    h.publish("t", "queued", 2, 2);
    h.events();
    h.lose();
    const auto ev = h.events();
    std::vector<published<int>> failed;
    bool told = false;
    for (const auto& e : ev) {
        if (auto* p = std::get_if<published<int>>(&e)) failed.push_back(*p);
        if (std::holds_alternative<disconnected>(e)) told = true;
    }
    CHECK(told);
    REQUIRE(failed.size() == 2);
    for (const auto& f : failed) CHECK(f.ec == errc::connection_lost);
    CHECK_FALSE(h.s.active());
    CHECK(h.s.packet_ids_in_use() == 0);
}

TEST_CASE("With reconnect, a lost link keeps queued and in-flight messages for the next connection", "[session]")
{
    harness h;
    h.up();
    h.publish("t", "a", 1, 1);
    h.write();
    h.lose();
    CHECK(h.events_of<published<int>>().empty());
    CHECK(h.s.active());
    CHECK(h.s.inflight() == 1);
}

TEST_CASE("disconnect() with no connection ends the session at once", "[session]")
{
    harness h;
    h.s.begin();
    h.publish("t", "a", 1, 9);
    REQUIRE_FALSE(h.s.disconnect(h.now));
    CHECK_FALSE(h.s.active());
    const auto failed = h.events_of<published<int>>();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].ec == errc::disconnected);
    CHECK(h.s.disconnect(h.now) == errc::not_connected);
}

TEST_CASE("disconnect() sends what is queued, waits for acks, then DISCONNECT, then closes", "[session]")
{
    harness h;
    h.up();
    h.publish("t", "a", 1, 1);
    REQUIRE_FALSE(h.s.disconnect(h.now));
    CHECK(h.s.publish(byte_buffer{0x30, 0x03, 0x00, 0x01, 't'}, 0, 5, h.dropped).ec == errc::not_connected);
    auto out = h.write();
    const auto sent = only<publish>(out);
    REQUIRE(sent.size() == 1);
    CHECK(only<disconnect>(out).empty());  // the PUBACK is awaited first
    h.receive(puback{sent[0].packet_id});
    out = h.write();
    CHECK(out == std::vector<packet>{disconnect{}});
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK_FALSE(*close);
    h.s.link_closed({}, h.now);
    const auto ev = h.events();
    bool clean = false;
    for (const auto& e : ev)
        if (auto* d = std::get_if<disconnected>(&e)) clean = !d->ec;
    CHECK(clean);
    CHECK_FALSE(h.s.active());
}

TEST_CASE("The broker closing while DISCONNECT is still in the write ends the session cleanly", "[session]")
{
    harness h;
    h.up();
    REQUIRE_FALSE(h.s.disconnect(h.now));
    CHECK(h.start_write() == std::vector<packet>{disconnect{}});
    h.lose(make_error_code(errc::connection_lost));  // EOF read before the write completed
    bool clean = false;
    for (const auto& e : h.events())
        if (auto* d = std::get_if<disconnected>(&e)) clean = !d->ec;
    CHECK(clean);
    CHECK_FALSE(h.s.active());
}

TEST_CASE("A reset while DISCONNECT is still in the write is not a clean goodbye", "[session]")
{
    harness h;
    h.up();
    REQUIRE_FALSE(h.s.disconnect(h.now));
    CHECK(h.start_write() == std::vector<packet>{disconnect{}});
    h.lose(make_error_code(std::errc::connection_reset));
    std::error_code reason;
    for (const auto& e : h.events())
        if (auto* d = std::get_if<disconnected>(&e)) reason = d->ec;
    CHECK(reason == std::errc::connection_reset);
}

TEST_CASE("disconnect() stops waiting for acks at the deadline and still says DISCONNECT", "[session]")
{
    harness h;
    h.s.config().disconnect_timeout = std::chrono::milliseconds(500);
    h.up();
    h.publish("t", "a", 1, 1);
    h.s.disconnect(h.now);
    h.write();
    REQUIRE(h.s.deadline());
    CHECK(*h.s.deadline() <= h.now + 500ms);
    h.advance(500ms);
    CHECK(h.write() == std::vector<packet>{disconnect{}});
    h.lose({});
    const auto failed = h.events_of<published<int>>();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].ec == errc::disconnected);
}

TEST_CASE("disconnect() while CONNACK is awaited writes DISCONNECT after CONNECT", "[session]")
{
    harness h;
    h.s.begin();
    connect c;
    c.client_id = "c";
    h.s.link_opened(c, h.now);
    REQUIRE_FALSE(h.s.disconnect(h.now));
    const auto out = h.write();
    REQUIRE(out.size() == 2);
    CHECK(std::holds_alternative<connect>(out[0]));
    CHECK(std::holds_alternative<disconnect>(out[1]));
    REQUIRE(h.s.take_close_request());
}

TEST_CASE("A stuck write during disconnect() is given up after the deadline and a grace", "[session]")
{
    harness h;
    h.s.config().disconnect_timeout = std::chrono::milliseconds(200);
    h.up(true, false, 0);
    h.publish("t", "big", 0, 1);
    h.start_write();  // never completes
    h.s.disconnect(h.now);
    h.advance(200ms);
    CHECK_FALSE(h.s.close_requested());
    h.advance(machine::goodbye_grace);
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::timeout);
}

TEST_CASE("A late completion of the old connection's write does not touch the new connection", "[session]")
{
    harness h;
    h.up();
    h.publish("t", "a", 0, 1);
    h.start_write();
    h.s.link_closed(make_error_code(std::errc::connection_reset), h.now);
    h.s.begin();
    connect c;
    h.s.link_opened(c, h.now);
    h.s.write_done(make_error_code(std::errc::operation_canceled), h.now);  // the old write, aborted
    CHECK_FALSE(h.s.close_requested());
    const auto failed = h.events_of<published<int>>();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].ec == errc::connection_lost);
    const auto out = h.write();
    REQUIRE(out.size() == 1);
    CHECK(std::holds_alternative<connect>(out[0]));
}

TEST_CASE("A packet only a client sends closes with unexpected_packet", "[session]")
{
    harness h;
    h.up();
    h.receive(subscribe{1, {{"a", 0}}});
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::unexpected_packet);
}

TEST_CASE("A close request left by end() survives a new begin(): the old transport still closes", "[session]")
{
    harness h;
    h.open();
    h.s.end(make_error_code(errc::connect_timeout));
    h.s.begin();
    CHECK(h.s.close_requested());
}
