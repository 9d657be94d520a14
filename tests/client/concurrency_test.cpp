// One client used from several threads at once.

#include "client_test_helpers.hpp"

#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace client_test;
using mqtt_test::broker;
using mqtt_test::broker_options;

namespace {

broker_options unbounded_queue()
{
    broker_options o;
    o.extra_config = {"max_queued_messages 0"};
    return o;
}

// Payload "<thread>:<n>".
std::pair<int, int> parse(const std::string& payload)
{
    const auto colon = payload.find(':');
    if (colon == std::string::npos) return {-1, -1};
    return {std::stoi(payload.substr(0, colon)), std::stoi(payload.substr(colon + 1))};
}

void concurrent_publish(int qos, int threads, int per_thread)
{
    broker b(unbounded_queue());
    const auto topic = unique_topic("conc");
    test_client sub(unique_id("concsub"));
    sub.start(b);
    sub.subscribe_and_wait(topic, qos);

    test_client pub(unique_id("concpub"));
    pub.start(b);

    std::vector<std::vector<mqtt::message_info>> infos(static_cast<std::size_t>(threads));
    std::vector<std::size_t> failures(static_cast<std::size_t>(threads), 0);
    {
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                auto& mine = infos[static_cast<std::size_t>(t)];
                for (int i = 0; i < per_thread; ++i) {
                    mine.push_back(pub.client.publish(topic, std::to_string(t) + ":" + std::to_string(i), qos));
                    if (mine.back().rc()) ++failures[static_cast<std::size_t>(t)];
                }
            });
        }
        for (auto& w : workers) w.join();
    }
    for (int t = 0; t < threads; ++t) CHECK(failures[static_cast<std::size_t>(t)] == 0);

    const auto total = static_cast<std::size_t>(threads * per_thread);
    REQUIRE(sub.messages().wait_for(total, bulk_timeout));
    // A marker from the publisher: any duplicate would have come before it.
    pub.client.publish(topic, "end", qos);
    REQUIRE(sub.messages().wait_until(
        [](const std::vector<mqtt::message>& ms) { return !ms.empty() && ms.back().payload == "end"; },
        bulk_timeout));

    const auto got = sub.messages().items();
    CHECK(got.size() == total + 1);
    std::map<int, int> next;  // thread -> the n expected next
    std::size_t bad = 0;
    for (std::size_t i = 0; i + 1 < got.size(); ++i) {
        const auto [t, n] = parse(got[i].payload);
        if (t < 0 || t >= threads || n != next[t]) {
            if (bad < 5) UNSCOPED_INFO("message " << i << ": '" << got[i].payload << "', expected n " << next[t]);
            ++bad;
        }
        next[t] = n + 1;
    }
    CHECK(bad == 0);
    for (int t = 0; t < threads; ++t) CHECK(next[t] == per_thread);

    // Every message_info completes successfully.
    for (auto& mine : infos)
        for (auto& info : mine) REQUIRE_FALSE(info.wait_for_publish(bulk_timeout));
    REQUIRE(pub.log.published.wait_for(total + 1, bulk_timeout));
}

}  // namespace

TEST_CASE("4 threads publish 2 500 QoS 1 messages each: all arrive once, in per-thread order",
          "[client][threads]")
{
    concurrent_publish(1, 4, 2500);
}

TEST_CASE("4 threads publish 1 000 QoS 2 messages each: all arrive once, in per-thread order",
          "[client][threads]")
{
    concurrent_publish(2, 4, 1000);
}

TEST_CASE("publish, subscribe and unsubscribe from several threads while messages arrive", "[client][threads]")
{
    broker b(unbounded_queue());
    const auto topic = unique_topic("mixed");
    test_client c(unique_id("mixed"));
    c.start(b);
    c.subscribe_and_wait(topic + "/main", 1);

    constexpr int rounds = 200;
    std::vector<std::thread> workers;
    std::vector<std::size_t> failures(3, 0);
    workers.emplace_back([&] {
        for (int i = 0; i < rounds; ++i)
            if (c.client.publish(topic + "/main", std::to_string(i), 1).rc()) ++failures[0];
    });
    workers.emplace_back([&] {
        for (int i = 0; i < rounds; ++i) {
            if (c.client.subscribe(topic + "/side/" + std::to_string(i % 7), i % 3).first) ++failures[1];
        }
    });
    workers.emplace_back([&] {
        for (int i = 0; i < rounds; ++i) {
            if (c.client.unsubscribe(topic + "/side/" + std::to_string(i % 7)).first) ++failures[2];
        }
    });
    for (auto& w : workers) w.join();
    CHECK(failures == std::vector<std::size_t>{0, 0, 0});

    REQUIRE(c.messages().wait_for(rounds, bulk_timeout));
    REQUIRE(c.log.subscribed.wait_for(rounds, bulk_timeout));
    REQUIRE(c.log.unsubscribed.wait_for(rounds, bulk_timeout));
    const auto payloads = c.messages().payloads();
    std::size_t out_of_order = 0;
    for (int i = 0; i < rounds; ++i)
        if (payloads[static_cast<std::size_t>(i)] != std::to_string(i)) ++out_of_order;
    CHECK(out_of_order == 0);
    CHECK(c.client.is_connected());
}

TEST_CASE("is_connected, queued_messages and callback assignment are safe to call concurrently", "[client][threads]")
{
    broker b;
    const auto topic = unique_topic("poll");
    test_client c(unique_id("poll"));
    c.start(b);
    c.subscribe_and_wait(topic, 0);
    std::atomic<bool> stop{false};
    std::thread poller([&] {
        while (!stop.load()) {
            (void)c.client.is_connected();
            (void)c.client.queued_messages();
            (void)c.client.user_data();
            c.client.on_log = [](mqtt::client&, mqtt::log_level, const std::string&) {};
        }
    });
    for (int i = 0; i < 500; ++i) c.client.publish(topic, std::to_string(i), 0);
    c.client.publish(topic, "end", 1);
    const bool arrived = c.messages().wait_until(
        [](const std::vector<mqtt::message>& ms) { return !ms.empty() && ms.back().payload == "end"; });
    stop.store(true);
    poller.join();
    CHECK(arrived);
}

TEST_CASE("message_info: is_published() is true as soon as wait_for_publish() returned success", "[client][threads]")
{
    // wait_for_publish() runs on the test thread while the loop thread
    // completes the message: the two must agree the moment the wait ends.
    broker b(unbounded_queue());
    const auto topic = unique_topic("agree");
    test_client c(unique_id("agree"));
    c.start(b);
    std::size_t disagreements = 0;
    std::size_t failures = 0;
    // In batches: the waits then meet messages that are being completed at
    // that very moment, not only ones long done or not yet acknowledged.
    for (int batch = 0; batch < 30; ++batch) {
        std::vector<mqtt::message_info> infos;
        for (int i = 0; i < 100; ++i) infos.push_back(c.client.publish(topic, std::to_string(i), 1 + i % 2));
        for (auto& info : infos) {
            if (info.wait_for_publish(wait_timeout)) {
                ++failures;
            } else if (!info.is_published()) {
                ++disagreements;
            }
        }
    }
    CHECK(failures == 0);
    CHECK(disagreements == 0);
}
