// Keepalive against a half-open link: the proxy stalls (both sockets stay
// open, nothing moves), and the client must notice by itself.

#include "fault_test_helpers.hpp"

using namespace fault_test;
using mqtt_test::fault_proxy;

namespace {

constexpr int keepalive = 2;  // seconds
// The promise: PINGREQ after keepalive without traffic, PINGRESP due within
// keepalive / 2, so a silent link is declared lost within 1.5 x keepalive of
// its last traffic. The margin covers timer and scheduling latency (a loaded
// machine, a sanitizer) and still tells 1.5 x keepalive from paho's 2 x.
constexpr ms detection_bound{keepalive * 1500};
constexpr ms margin{700};

struct keepalive_client {
    client_events events;
    mqtt::client c{unique_id("ka")};
    std::string topic = unique_topic("ka");

    explicit keepalive_client(const fault_proxy& proxy)
    {
        events.attach(c);
        c.connect_timeout_set(1s);
        c.reconnect_delay_set(100ms, 200ms);
        c.connect(proxy.host(), proxy.port(), keepalive);
        REQUIRE_FALSE(c.loop_start());
    }
};

}  // namespace

TEST_CASE("a half-open connection is detected within 1.5 x keepalive", "[faults][keepalive]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    keepalive_client k(proxy);

    steady::time_point stalled_at;
    std::string when;
    SECTION("stalled right after traffic (the worst case)")
    {
        when = "right after a PUBACK";
        REQUIRE_FALSE(k.c.publish(k.topic, "x", 1).wait_for_publish(wait_timeout));
        stalled_at = steady::now();
        proxy.stall();
    }
    SECTION("stalled after an idle while")
    {
        when = "after 1.2 s idle";
        std::this_thread::sleep_for(1200ms);
        stalled_at = steady::now();
        proxy.stall();
    }
    // A message published into the dead link is not lost: it goes again
    // after the reconnect.
    auto info = k.c.publish(k.topic, "into the void", 1);

    REQUIRE(k.events.disconnects.wait_for(1, detection_bound + 3s));
    const auto lost = k.events.disconnects.items().front();
    const auto detection = lost.at - stalled_at;
    WARN("keepalive " << keepalive << " s, stalled " << when << ": connection declared lost after "
                      << millis(detection) << " ms (bound " << detection_bound.count() << " ms + " << margin.count()
                      << " ms margin)");
    CHECK(lost.value == mqtt::errc::keepalive_timeout);
    CHECK(detection <= detection_bound + margin);
    CHECK(detection >= ms(keepalive * 1000 / 2));  // a PINGREQ went unanswered for keepalive / 2 at least
    CHECK_FALSE(k.c.is_connected());
    CHECK_FALSE(info.is_published());

    // Still stalled: the reconnect attempt times out (connect_timeout 1 s) ...
    REQUIRE(k.events.connect_fails.wait_for(1, 5s));
    CHECK(k.events.connect_fails.items().front().value == mqtt::errc::connect_timeout);
    // ... and once the link works again the client is back, and the message goes out.
    proxy.clear_faults();
    REQUIRE(k.events.connects.wait_for(2, wait_timeout));
    CHECK_FALSE(info.wait_for_publish(wait_timeout));
    k.c.disconnect();
    k.c.loop_stop();
}

TEST_CASE("keepalive keeps an idle link up and does not drop a slow but alive one", "[faults][keepalive]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    client_events events;
    mqtt::client c(unique_id("kaidle"));
    events.attach(c);
    c.connect(proxy.host(), proxy.port(), 1);
    REQUIRE_FALSE(c.loop_start());

    SECTION("idle for 3.5 keepalives: PINGREQ/PINGRESP keep it up")
    {
        const auto before = proxy.bytes_to_broker();
        std::this_thread::sleep_for(3500ms);
        CHECK(events.disconnects.size() == 0);
        CHECK(c.is_connected());
        CHECK(proxy.bytes_to_broker() - before >= 3 * 2);  // at least 3 PINGREQs
    }
    SECTION("150 ms each way (a 300 ms round trip, under keepalive / 2) for 4 s")
    {
        proxy.delay(150ms);
        std::this_thread::sleep_for(4000ms);
        CHECK(events.disconnects.size() == 0);
        CHECK(c.is_connected());
        proxy.delay(0ms);
    }
    c.disconnect();
    c.loop_stop();
}

TEST_CASE("a large PUBLISH that takes longer than the keepalive to get through a slow, steady link is not dropped",
          "[faults][keepalive]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    client_events events;
    mqtt::client c(unique_id("kaslow"));
    events.attach(c);
    c.reconnect_on_failure_set(false);  // a false "dead link" ends the session: the publish fails
    c.connect(proxy.host(), proxy.port(), 1);
    REQUIRE_FALSE(c.loop_start());
    // 16 KiB per 16 ms: about 1 MiB/s, so 2.5 MiB take some 2.5 s, well over
    // 1.5 x keepalive, in the client's write and in the kernel's queues.
    proxy.delay(16ms);
    const auto started = steady::now();
    auto info = c.publish(unique_topic("kaslow"), std::string(std::size_t{5} << 19, 'x'), 1);
    const auto rc = info.wait_for_publish(30s);
    const auto took = steady::now() - started;
    INFO("the PUBACK came after " << std::chrono::duration_cast<ms>(took).count() << " ms");
    CHECK_FALSE(rc);
    CHECK(took > 1500ms);  // the link really was slower than the keepalive allows for silence
    CHECK(events.disconnects.size() == 0);
    proxy.delay(0ms);
    CHECK_FALSE(c.disconnect());
}
