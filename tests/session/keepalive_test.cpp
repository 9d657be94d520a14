// Keepalive decisions: PINGREQ when due, a silent link found dead within
// 1.5 x keepalive, a slow but steady write kept alive.

#include "session/session_harness.hpp"

using namespace session_test;

TEST_CASE("PINGREQ after keepalive without traffic; PINGRESP answers it", "[session][keepalive]")
{
    harness h;
    h.up(true, false, 10);
    REQUIRE(h.s.deadline());
    CHECK(*h.s.deadline() == h.now + 10s);
    h.advance(9s);
    CHECK(h.write().empty());
    h.advance(1s);
    CHECK(h.write() == std::vector<packet>{pingreq{}});
    h.advance(4s);
    h.receive(pingresp{});
    h.advance(2s);
    CHECK_FALSE(h.s.close_requested());
}

TEST_CASE("A silent, half-open link is declared dead within 1.5 x keepalive", "[session][keepalive]")
{
    harness h;
    h.up(true, false, 10);
    h.advance(10s);
    CHECK(h.write() == std::vector<packet>{pingreq{}});
    h.advance(4900ms);
    CHECK_FALSE(h.s.close_requested());
    h.advance(100ms);
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::keepalive_timeout);
}

TEST_CASE("A large PUBLISH written slowly for longer than keepalive keeps the link alive", "[session][keepalive]")
{
    harness h;
    h.up(true, false, 2);
    h.publish("t", std::string(100000, 'x'), 1, 1);
    h.start_write();  // a slow link: bytes trickle out
    for (int i = 0; i < 100; ++i) {
        h.now += 100ms;
        h.s.write_progress(h.now);
        h.s.tick(h.now);
        REQUIRE_FALSE(h.s.close_requested());
    }
    h.s.write_done({}, h.now);
    CHECK_FALSE(h.s.close_requested());
}

TEST_CASE("A write that makes no progress for 1.5 x keepalive is a dead link", "[session][keepalive]")
{
    harness h;
    h.up(true, false, 2);
    h.publish("t", std::string(100000, 'x'), 1, 1);
    h.start_write();
    h.advance(2900ms);
    CHECK_FALSE(h.s.close_requested());
    h.advance(100ms);
    const auto close = h.s.take_close_request();
    REQUIRE(close);
    CHECK(*close == errc::keepalive_timeout);
}

TEST_CASE("Keepalive 0 never pings and never times out", "[session][keepalive]")
{
    harness h;
    h.up(true, false, 0);
    CHECK_FALSE(h.s.deadline());
    h.advance(100h);
    CHECK(h.write().empty());
    CHECK_FALSE(h.s.close_requested());
}
