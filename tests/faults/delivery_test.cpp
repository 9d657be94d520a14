// End-to-end delivery guarantees under faults: a publisher and a persistent
// subscriber (clean_session = false), both through the fault proxy, a real
// Mosquitto with persistence behind it. Payloads are the message indices, so
// the subscriber can tell exactly what is missing and what came twice.

#include "fault_test_helpers.hpp"

using namespace fault_test;
using mqtt_test::fault_proxy;

namespace {

// Short reconnect delays: a stream with 100 cuts spends its time reconnecting
// otherwise. The cap still grows (connections never last 10 s here).
constexpr ms min_reconnect{10};
constexpr ms max_reconnect{80};

struct stream_clients {
    delivery_counter counter;
    client_events sub_events;
    client_events pub_events;
    std::string sub_id = unique_id("sub");
    std::string pub_id = unique_id("pub");
    mqtt::client sub;
    mqtt::client pub;
    std::string topic = unique_topic("stream");

    stream_clients(std::size_t messages, std::uint32_t seed, ms max_delay = max_reconnect)
        : counter(messages), sub(sub_id, false), pub(pub_id, false)
    {
        sub_events.attach(sub);
        pub_events.attach(pub);
        sub.on_message = counter.handler();
        for (auto* c : {&sub, &pub}) {
            c->reconnect_delay_set(min_reconnect, max_delay);
            c->connect_timeout_set(2s);
        }
        sub.reconnect_jitter_seed(seed + 1);
        pub.reconnect_jitter_seed(seed + 2);
    }

    // Both connect through `port`; the subscriber subscribes and waits for its SUBACK.
    void start(std::uint16_t port, int qos)
    {
        sub.connect("127.0.0.1", port, 30);
        REQUIRE_FALSE(sub.loop_start());
        auto [rc, mid] = sub.subscribe(topic, qos);
        REQUIRE_FALSE(rc);
        REQUIRE(sub_events.wait_for_suback(mid));
        pub.connect("127.0.0.1", port, 30);
        REQUIRE_FALSE(pub.loop_start());
    }

    // Queues messages [first, last) with the given QoS; returns how many
    // publish calls did not accept the message.
    std::size_t publish_range(std::size_t first, std::size_t last, int qos, std::vector<mqtt::message_info>& infos)
    {
        std::size_t rejected = 0;
        for (std::size_t i = first; i < last; ++i) {
            infos.push_back(pub.publish(topic, std::to_string(i), qos));
            if (infos.back().rc()) ++rejected;
        }
        return rejected;
    }

    void stop()
    {
        pub.disconnect();
        sub.disconnect();
        pub.loop_stop();
        sub.loop_stop();
    }
};

// QoS 2: no message twice - except where the broker re-sent a PUBLISH it had
// already released (see broker_publish_after_pubrel); those are reported.
void check_exactly_once(const mqtt_test::broker& b, const stream_clients& clients)
{
    const auto& c = clients.counter;
    const auto broker_resent = broker_publish_after_pubrel(b.log(), clients.sub_id);
    std::size_t resent_total = 0;
    for (const auto& [mid, n] : broker_resent) resent_total += n;
    std::size_t explained = 0;
    std::size_t unexplained = 0;
    std::ostringstream unexplained_mids;
    for (const auto& [mid, n] : c.duplicate_mids()) {
        const auto it = broker_resent.find(mid);
        const std::size_t allowed = it == broker_resent.end() ? 0 : it->second;
        explained += std::min(n, allowed);
        if (n > allowed) {
            unexplained += n - allowed;
            unexplained_mids << (unexplained_mids.tellp() > 0 ? ", " : "") << mid;
        }
    }
    if (resent_total > 0 || c.duplicates() > 0)
        WARN("QoS 2: Mosquitto re-sent " << resent_total << " PUBLISH(es) after their PUBREL (a broker bug, "
                                         << "MQTT-4.3.3-1); " << explained << " of the " << c.duplicates()
                                         << " duplicates the subscriber saw are those");
    INFO("duplicates the broker log does not explain, by packet id: " << unexplained_mids.str());
    CHECK(unexplained == 0);
}

// QoS 1: duplicates are allowed, but each must come from a resend - the
// broker's to the subscriber (DUP set) or the publisher's to the broker
// (which the broker forwards as a new message) - never from the client
// delivering one PUBLISH twice.
void check_duplicates_accounted_for(const mqtt_test::broker& b, const stream_clients& clients)
{
    const auto log = b.log();
    const std::size_t broker_resends = occurrences(log, "Sending PUBLISH to " + clients.sub_id + " (d1");
    const std::size_t publisher_resends = occurrences(log, "Received PUBLISH from " + clients.pub_id + " (d1");
    INFO("broker re-sent " << broker_resends << " PUBLISH to the subscriber, the publisher re-sent "
                           << publisher_resends);
    CHECK(clients.counter.duplicates() <= broker_resends + publisher_resends);
}

// A stream of `messages` through the proxy while it cuts connections at
// `cuts` seeded random points (each 200..6000 bytes after the previous cut,
// counted over both directions of both clients' connections).
void stream_with_random_cuts(int qos, std::size_t messages, std::size_t cuts, std::uint32_t seed)
{
    mqtt_test::broker b(fault_broker_options());
    fault_proxy proxy(b.port());
    stream_clients clients(messages, seed);
    clients.start(proxy.port(), qos);

    proxy.cut_randomly(seed, 200, 6000, cuts);
    const auto start = steady::now();
    std::vector<mqtt::message_info> infos;
    infos.reserve(messages);
    REQUIRE(clients.publish_range(0, messages, qos, infos) == 0);

    const auto [failed, first_failure] = wait_all_published(infos, stream_timeout);
    const auto published_after = steady::now() - start;
    INFO("first failure: " << first_failure.message());
    REQUIRE(failed == 0);
    const bool all = clients.counter.wait_all(stream_timeout);
    const auto delivered_after = steady::now() - start;
    // Let late redeliveries (QoS 2 must have none) show up before counting.
    std::this_thread::sleep_for(300ms);
    proxy.clear_faults();

    const auto& c = clients.counter;
    std::ostringstream figures;
    figures << "QoS " << qos << ": " << messages << " messages, " << proxy.cuts() << " cuts; all acknowledged after "
            << seconds(published_after) << " s, all delivered after " << seconds(delivered_after) << " s; "
            << c.received() << " received, " << c.duplicates() << " duplicates (" << c.dup_flagged()
            << " with DUP set), most copies of one message " << c.max_count() << "; publisher "
            << clients.pub_events.connects.size() << " connects / " << clients.pub_events.connect_fails.size()
            << " failed attempts, subscriber " << clients.sub_events.connects.size() << " connects / "
            << clients.sub_events.connect_fails.size() << " failed attempts";
    WARN(figures.str());
    INFO("missing: " << c.missing());
    INFO("duplicates: " << c.duplicated());
    REQUIRE(all);
    CHECK(c.unexpected() == 0);
    CHECK(proxy.cuts() == cuts);
    if (qos == 2)
        check_exactly_once(b, clients);
    else
        check_duplicates_accounted_for(b, clients);
    // Every reconnect of the persistent subscriber found its session.
    const auto connects = clients.sub_events.connects.items();
    for (std::size_t i = 1; i < connects.size(); ++i) CHECK(connects[i].value);
    clients.stop();
}

// A stream during which the broker is restarted `restarts` times with the
// same persistence file: gracefully (SIGTERM, Mosquitto saves its state) or
// by SIGKILL (a crash: Mosquitto loses what it had not saved yet).
struct restart_figures {
    std::size_t messages = 0;
    std::size_t delivered = 0;
    std::size_t duplicates = 0;
    std::size_t publish_failures = 0;
    std::size_t sessions_lost = 0;  // subscriber CONNACKs without a session
    std::size_t last_slice_missing = 0;  // of the messages published after the last restart
    std::string missing;
    double seconds = 0;
};

restart_figures stream_with_restarts(int qos, std::size_t messages, int restarts, bool crash,
                                     const std::vector<std::string>& extra_config, bool expect_all)
{
    mqtt_test::broker b(fault_broker_options(extra_config));
    fault_proxy proxy(b.port());
    stream_clients clients(messages, 1000u + static_cast<std::uint32_t>(qos), ms(200));
    clients.start(proxy.port(), qos);

    const auto start = steady::now();
    std::vector<mqtt::message_info> infos;
    infos.reserve(messages);
    const std::size_t slices = static_cast<std::size_t>(restarts) + 1;
    for (std::size_t r = 0; r < slices; ++r) {
        const std::size_t first = messages * r / slices;
        const std::size_t last = messages * (r + 1) / slices;
        REQUIRE(clients.publish_range(first, last, qos, infos) == 0);
        if (r + 1 == slices) break;
        // Restart while this slice is on its way: some of it in flight, some
        // queued by the broker for the subscriber, some not yet sent.
        // (Bounded; not asserted: after a crash some earlier messages may never come.)
        clients.counter.wait_received(first + (last - first) / 4, wait_timeout);
        if (crash)
            b.kill();
        else
            b.stop();
        b.start();
    }
    const auto [failed, first_failure] = wait_all_published(infos, stream_timeout);
    INFO("first publish failure: " << first_failure.message());
    CHECK(failed == 0);

    restart_figures f;
    f.messages = messages;
    f.publish_failures = failed;
    const bool all = clients.counter.wait_all(expect_all ? stream_timeout : ms(3000));
    f.seconds = seconds(steady::now() - start);
    std::this_thread::sleep_for(300ms);
    f.delivered = clients.counter.distinct();
    f.duplicates = clients.counter.duplicates();
    f.missing = clients.counter.missing();
    for (std::size_t i = messages * static_cast<std::size_t>(restarts) / slices; i < messages; ++i)
        if (clients.counter.count_of(i) == 0) ++f.last_slice_missing;
    const auto connects = clients.sub_events.connects.items();
    for (std::size_t i = 1; i < connects.size(); ++i)
        if (!connects[i].value) ++f.sessions_lost;
    CHECK(all == (f.delivered == messages));
    if (qos == 2 && expect_all) check_exactly_once(b, clients);
    if (qos == 1 && expect_all) check_duplicates_accounted_for(b, clients);
    clients.stop();
    return f;
}

}  // namespace

TEST_CASE("QoS 1 stream through 100 random cuts: every message arrives at least once", "[faults][stream]")
{
    stream_with_random_cuts(1, 10000, 100, 20240601u);
}

TEST_CASE("QoS 2 stream through 100 random cuts: every message arrives exactly once", "[faults][stream]")
{
    stream_with_random_cuts(2, 10000, 100, 20240602u);
}

TEST_CASE("QoS 1 and 2 streams through 5 graceful broker restarts: nothing lost", "[faults][restart]")
{
    const int qos = GENERATE(1, 2);
    const auto f = stream_with_restarts(qos, 3000, 5, false, {}, true);
    WARN("QoS " << qos << ", 5 graceful restarts (SIGTERM, start): " << f.delivered << "/" << f.messages
                << " delivered, " << f.duplicates << " duplicates, subscriber sessions lost " << f.sessions_lost
                << ", " << f.seconds << " s");
    INFO("missing: " << f.missing);
    CHECK(f.delivered == f.messages);
    CHECK(f.sessions_lost == 0);
}

// SIGKILL: Mosquitto writes its persistence file only at autosave points and
// at a clean shutdown, after it has acknowledged messages (even with
// autosave_on_changes and autosave_interval 1, the save runs after the
// PUBACK/PUBREC went out). What it had acknowledged and not yet saved is gone
// with the process; no client can bring that back. This case checks the
// client's half - every publish still completes, the session survives, and
// nothing published after the last crash is lost - and reports the broker's
// losses instead of asserting none.
TEST_CASE("QoS 1 and 2 streams through 5 broker crashes (kill -9): the client recovers and the losses are reported",
          "[faults][restart]")
{
    const int qos = GENERATE(1, 2);
    const auto f = stream_with_restarts(qos, 2000, 5, true, {"autosave_on_changes true", "autosave_interval 1"},
                                        false);
    WARN("QoS " << qos << ", 5 crashes (SIGKILL, start), Mosquitto autosave after every change: " << f.delivered
                << "/" << f.messages << " delivered (" << f.last_slice_missing << " missing after the last crash), "
                << f.duplicates << " duplicates, subscriber sessions lost " << f.sessions_lost << ", " << f.seconds
                << " s; missing: " << f.missing);
    CHECK(f.publish_failures == 0);  // every publish completed: resent until the broker acknowledged it
    CHECK(f.sessions_lost == 0);     // the subscription survived (saved on change), no resubscribe needed
    // QoS 1: after the last crash nothing more is lost. Not for QoS 2: a
    // broker restored from a save older than its last PUBLISH to the
    // subscriber reuses that packet id for a new message while the client
    // still holds the old one for PUBREL - and MQTT-4.3.3-2 has the client
    // treat the new PUBLISH as the old one (the broker forgot an exchange but
    // reports session_present).
    if (qos == 1) CHECK(f.last_slice_missing == 0);
}
