// Automatic reconnect: jittered exponential backoff (measured against the
// seeded sequence), no storm with a duplicate client id, the backoff reset
// after a long-lived connection, resubscription after a sessionless reconnect.

#include "fault_test_helpers.hpp"

#include <mqtt/detail/backoff.hpp>

using namespace fault_test;
using mqtt_test::fault_proxy;

namespace {

// Time one failed attempt may take on top of its delay (resolve, TCP
// connect, CONNECT written, close seen), generous for a sanitizer build on a
// loaded machine; still well below the spread of the delays it checks.
constexpr ms attempt_slack{500};

// The delays a client seeded with `seed` draws, in order.
std::vector<ms> expected_delays(ms min_delay, ms max_delay, std::uint32_t seed, std::size_t n)
{
    mqtt::detail::backoff reference(min_delay, max_delay, seed);
    std::vector<ms> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(reference.next());
    return out;
}

ms cap_for(ms min_delay, ms max_delay, std::size_t attempt)
{
    ms cap = min_delay;
    for (std::size_t i = 0; i < attempt && cap < max_delay; ++i) cap *= 2;
    return std::min(cap, max_delay);
}

// The gaps between a connection loss and the failed attempts after it.
std::vector<ms> failure_gaps(const client_events& events, std::size_t n)
{
    const auto fails = events.connect_fails.items();
    std::vector<ms> gaps;
    auto previous = events.disconnects.items().front().at;
    for (std::size_t i = 0; i < n && i < fails.size(); ++i) {
        gaps.push_back(std::chrono::duration_cast<ms>(fails[i].at - previous));
        previous = fails[i].at;
    }
    return gaps;
}

std::string list(const std::vector<ms>& values)
{
    std::ostringstream out;
    for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i].count();
    return out.str() + " ms";
}

void check_gaps(const std::vector<ms>& gaps, const std::vector<ms>& expected, ms min_delay, ms max_delay)
{
    REQUIRE(gaps.size() == expected.size());
    for (std::size_t i = 0; i < gaps.size(); ++i) {
        const ms cap = cap_for(min_delay, max_delay, i);
        INFO("attempt " << i << ": gap " << gaps[i].count() << " ms, seeded delay " << expected[i].count()
                        << " ms, allowed [" << min_delay.count() << ", " << cap.count() << "] ms");
        // The delay the client waited is the seeded draw, within [min, cap].
        CHECK(expected[i] >= min_delay);
        CHECK(expected[i] <= cap);
        CHECK(gaps[i] >= expected[i] - ms(1));  // steady_clock rounding
        CHECK(gaps[i] <= expected[i] + attempt_slack);
    }
}

}  // namespace

TEST_CASE("reconnect delays grow from min to max with seeded jitter", "[faults][reconnect]")
{
    constexpr ms min_delay{100};
    constexpr ms max_delay{1600};
    constexpr std::uint32_t seed = 1234;
    constexpr std::size_t attempts = 7;
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    client_events events;
    mqtt::client c(unique_id("backoff"));
    events.attach(c);
    c.reconnect_delay_set(min_delay, max_delay);
    c.reconnect_jitter_seed(seed);

    std::string mode;
    SECTION("the proxy accepts and closes every connection")
    {
        mode = "refused by the proxy";
        c.connect(proxy.host(), proxy.port(), 30);
        REQUIRE_FALSE(c.loop_start());
        proxy.refuse_for(30s);
        proxy.cut_all();
    }
    SECTION("the broker is stopped")
    {
        mode = "broker stopped";
        c.connect(b.host(), b.port(), 30);
        REQUIRE_FALSE(c.loop_start());
        b.stop();
    }
    REQUIRE(events.disconnects.wait_for(1));
    REQUIRE(events.connect_fails.wait_for(attempts, 15s));
    const auto gaps = failure_gaps(events, attempts);
    const auto expected = expected_delays(min_delay, max_delay, seed, attempts);
    WARN("reconnect delays (" << mode << "), min " << min_delay.count() << " ms, max " << max_delay.count()
                              << " ms, seed " << seed << ": measured gaps " << list(gaps) << "; seeded delays "
                              << list(expected));
    check_gaps(gaps, expected, min_delay, max_delay);
    for (const auto& f : events.connect_fails.items()) CHECK(f.value);
    // The caps grow: the later delays are longer than the first ones.
    CHECK((gaps[4] + gaps[5] + gaps[6]) / 3 > (gaps[0] + gaps[1]) / 2);

    // The way back: the next attempt succeeds.
    proxy.refuse_for(0ms);
    b.start();
    REQUIRE(events.connects.wait_for(2, max_delay + 5s));
    c.disconnect();
    c.loop_stop();
}

TEST_CASE("the backoff starts again from min only after a connection stayed up 10 s", "[faults][reconnect][slow]")
{
    constexpr ms min_delay{200};
    constexpr ms max_delay{3200};
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    client_events events;
    mqtt::client c(unique_id("reset"));
    events.attach(c);
    c.reconnect_delay_set(min_delay, max_delay);
    c.reconnect_jitter_seed(77);
    c.connect(proxy.host(), proxy.port(), 30);
    REQUIRE_FALSE(c.loop_start());

    // Short-lived connections: three failures push the cap to 1600 ms.
    proxy.refuse_for(30s);
    proxy.cut_all();
    REQUIRE(events.connect_fails.wait_for(3, 10s));
    proxy.refuse_for(0ms);
    REQUIRE(events.connects.wait_for(2, 10s));  // the 4th attempt: cap 1600 ms

    // Up for 10.5 s, then cut: the first delay is drawn from [min, min] again.
    std::this_thread::sleep_for(10500ms);
    REQUIRE(c.is_connected());
    proxy.refuse_for(30s);
    proxy.cut_all();
    REQUIRE(events.disconnects.wait_for(2));
    REQUIRE(events.connect_fails.wait_for(4, 10s));
    const auto lost_at = events.disconnects.items()[1].at;
    const auto gap = std::chrono::duration_cast<ms>(events.connect_fails.items()[3].at - lost_at);
    WARN("after 10.5 s up, the first reconnect delay was " << gap.count() << " ms (min " << min_delay.count()
                                                           << " ms; without the reset it would be drawn from ["
                                                           << min_delay.count() << ", 3200] ms)");
    CHECK(gap >= min_delay - ms(1));
    CHECK(gap <= min_delay + attempt_slack);
    proxy.refuse_for(0ms);
    c.disconnect();
    c.loop_stop();
}

TEST_CASE("two clients with the same client id do not reconnect in a storm", "[faults][reconnect]")
{
    // Each connect kicks the other client off (MQTT: the newer connection
    // wins). The backoff only resets after 10 s up, so both clients' delays
    // keep growing instead of kicking each other every few milliseconds.
    constexpr ms min_delay{100};
    constexpr ms max_delay{1600};
    constexpr ms window{6000};
    mqtt_test::broker b;
    const std::string id = unique_id("dup");
    client_events ea, eb;
    mqtt::client a(id);
    mqtt::client bc(id);
    ea.attach(a);
    eb.attach(bc);
    a.reconnect_delay_set(min_delay, max_delay);
    bc.reconnect_delay_set(min_delay, max_delay);
    a.reconnect_jitter_seed(11);
    bc.reconnect_jitter_seed(12);

    a.connect(b.host(), b.port(), 30);
    REQUIRE_FALSE(a.loop_start());
    const auto start = steady::now();
    bc.connect(b.host(), b.port(), 30);
    REQUIRE_FALSE(bc.loop_start());
    std::this_thread::sleep_until(start + window);
    const auto end = steady::now();
    a.reconnect_on_failure_set(false);
    bc.reconnect_on_failure_set(false);

    // The most connects a client seeded with `seed` can make in the window:
    // its first, plus one per seeded delay that fits.
    const auto observed = end - start;
    auto bound = [&](std::uint32_t seed) {
        const auto delays = expected_delays(min_delay, max_delay, seed, 100);
        std::size_t n = 1;
        ms sum{0};
        for (auto d : delays) {
            sum += d;
            if (sum > observed) break;
            ++n;
        }
        return n;
    };
    auto count_in_window = [&](const client_events& e) {
        std::size_t n = 0;
        for (const auto& c : e.connects.items())
            if (c.at >= start - 1s && c.at <= end) ++n;
        return n;
    };
    const std::size_t na = count_in_window(ea);
    const std::size_t nb = count_in_window(eb);
    const std::size_t bound_a = bound(11);
    const std::size_t bound_b = bound(12);
    const std::size_t no_backoff = static_cast<std::size_t>(window / min_delay);
    WARN("duplicate client id, " << window.count() << " ms: client A connected " << na << " times (bound " << bound_a
                                 << "), client B " << nb << " times (bound " << bound_b << "); a fixed "
                                 << min_delay.count() << " ms delay would allow about " << no_backoff << " each");
    CHECK(na >= 2);  // they really do kick each other
    CHECK(nb >= 1);
    CHECK(na <= bound_a);
    CHECK(nb <= bound_b);
    CHECK(na + nb < no_backoff);
    a.disconnect();
    bc.disconnect();
    a.loop_stop();
    bc.loop_stop();
}

TEST_CASE("subscriptions come back after a reconnect without a session", "[faults][resubscribe]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    const std::string topic = unique_topic("resub");
    recorder<std::string> received;
    client_events events;
    mqtt::client sub(unique_id("resub"));  // clean session: the broker forgets the subscriptions
    events.attach(sub);
    sub.on_message = [&](mqtt::client&, const mqtt::message& m) { received.push(m.payload); };
    sub.reconnect_delay_set(50ms, 100ms);

    bool resubscribe = true;
    SECTION("resubscribe_on_reconnect on (the default)") {}
    SECTION("resubscribe_on_reconnect off: the subscription is gone")
    {
        resubscribe = false;
        sub.resubscribe_on_reconnect_set(false);
    }

    sub.connect(proxy.host(), proxy.port(), 30);
    REQUIRE_FALSE(sub.loop_start());
    auto [rc, mid] = sub.subscribe(topic + "/a", 1);
    REQUIRE_FALSE(rc);
    REQUIRE(events.wait_for_suback(mid));
    auto [rc2, mid2] = sub.subscribe(topic + "/b", 1);
    REQUIRE_FALSE(rc2);
    REQUIRE(events.wait_for_suback(mid2));
    auto [rc3, mid3] = sub.unsubscribe(topic + "/b");  // not to be resubscribed
    REQUIRE_FALSE(rc3);

    mqtt::client pub(unique_id("resubpub"));
    pub.connect(b.host(), b.port(), 30);
    REQUIRE_FALSE(pub.loop_start());
    REQUIRE_FALSE(pub.publish(topic + "/a", "before", 1).wait_for_publish(wait_timeout));
    REQUIRE(received.wait_for(1));

    proxy.cut_all();
    REQUIRE(events.disconnects.wait_for(1));
    REQUIRE(events.connects.wait_for(2));
    CHECK_FALSE(events.connects.items()[1].value);  // no session on the broker

    // Probes until one arrives (the resubscription races the first publishes).
    const auto probe_deadline = steady::now() + (resubscribe ? wait_timeout : ms(1500));
    std::size_t probes = 0;
    while (received.size() < 2 && steady::now() < probe_deadline) {
        pub.publish(topic + "/a", "probe", 1).wait_for_publish(wait_timeout);
        pub.publish(topic + "/b", "unsubscribed", 1).wait_for_publish(wait_timeout);
        ++probes;
        received.wait_for(2, 50ms);
    }
    if (!resubscribe) {
        CHECK(received.size() == 1);  // nothing after the reconnect
    } else {
        REQUIRE(received.size() >= 2);
        // Now a numbered batch: every message arrives.
        constexpr int batch = 100;
        const std::size_t base = received.size();
        for (int i = 0; i < batch; ++i) pub.publish(topic + "/a", "n" + std::to_string(i), 1);
        REQUIRE(received.wait_for(base + batch, wait_timeout));
        for (const auto& p : received.items()) CHECK(p != "unsubscribed");
        WARN("resubscribed after the reconnect; first probe arrived after " << probes << " probe round(s)");
    }
    pub.disconnect();
    sub.disconnect();
    pub.loop_stop();
    sub.loop_stop();
}
