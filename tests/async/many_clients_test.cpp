// Several clients on one thread, and one client from several threads:
// 1 000 async_clients on one io_context run by the test thread against the
// real Mosquitto (each connects, subscribes, receives a command and publishes
// a reply; no thread per client), and one client whose operations are called
// from 4 threads while its io_context runs on 2 (TSan runs this file).

#include "async_test_helpers.hpp"

#include <asio/strand.hpp>

#include <dirent.h>
#include <sys/resource.h>

#include <deque>
#include <future>
#include <set>

using namespace async_test;
using mqtt_test::broker;
using mqtt_test::broker_options;

namespace {

// Threads of this process, from /proc/self/task.
std::size_t thread_count()
{
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
    }
    return n;
}

// Raises the soft descriptor limit towards `wanted` (the broker, started
// afterwards, inherits it); returns what it is now.
rlim_t raise_fd_limit(rlim_t wanted)
{
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    if (rl.rlim_cur < wanted) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, rl.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &rl);
        ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

}  // namespace

TEST_CASE("1000 clients on one io_context and one thread: all connect, subscribe, receive and publish",
          "[async][scale]")
{
    constexpr std::size_t wanted_clients = 1000;
    // Each client takes a descriptor here and one in the broker; keep a margin.
    const auto limit = raise_fd_limit(2 * wanted_clients + 256);
    const std::size_t clients =
        limit >= wanted_clients + 256 ? wanted_clients : static_cast<std::size_t>(limit > 356 ? limit - 256 : 100);
    if (clients < wanted_clients) WARN("descriptor limit " << limit << ": " << clients << " clients only");

    broker_options options;
    options.persistence = false;
    options.extra_config = {"max_connections -1", "max_queued_messages 0"};
    broker b(options);
    const auto base = unique_topic("many");
    asio::io_context io;
    const auto threads_before = thread_count();

    // The commander sends one command to each client and collects the replies.
    mqtt::async_client commander(io, unique_id("mcmd"));
    connect_or_fail(io, commander, b.host(), b.port());
    subscribe_or_fail(io, commander, base + "/+/reply", 1);
    std::set<std::string> replies;
    commander.on_message = [&](mqtt::async_client&, const mqtt::message& m) { replies.insert(m.topic); };

    std::vector<std::unique_ptr<mqtt::async_client>> fleet;
    fleet.reserve(clients);
    for (std::size_t i = 0; i < clients; ++i)
        fleet.push_back(std::make_unique<mqtt::async_client>(io, unique_id("m")));

    // Connects in waves: at most 100 handshakes at a time, each completion
    // starts the next (Mosquitto's listen backlog is 100; a SYN dropped on a
    // full backlog costs a second).
    std::size_t next_to_connect = 0, connected = 0, subscribed = 0, commands = 0, published = 0, received = 0;
    std::vector<std::string> errors;
    auto note = [&](std::size_t i, const char* what, std::error_code ec) {
        if (ec && errors.size() < 10) errors.push_back("client " + std::to_string(i) + ": " + what + ": " + ec.message());
        return static_cast<bool>(ec);
    };
    std::function<void()> connect_next = [&] {
        if (next_to_connect == clients) return;
        const std::size_t i = next_to_connect++;
        auto& c = *fleet[i];
        c.async_connect(b.host(), b.port(), 60, [&, i](std::error_code ec, bool) {
            connect_next();
            if (note(i, "connect", ec)) return;
            ++connected;
            const auto own = base + "/" + std::to_string(i);
            fleet[i]->async_subscribe(own + "/command", 1, [&, i, own](std::error_code ec2, std::vector<int>) {
                if (note(i, "subscribe", ec2)) return;
                ++subscribed;
                // The command for this client, from the commander.
                commander.async_publish(own + "/command", "report", 1, false, [&, i](std::error_code ec3, int) {
                    if (!note(i, "command", ec3)) ++commands;
                });
                fleet[i]->async_receive([&, i, own](std::error_code ec3, mqtt::message m) {
                    if (note(i, "receive", ec3)) return;
                    if (m.topic == own + "/command" && m.payload == "report") ++received;
                    fleet[i]->async_publish(own + "/reply", std::to_string(i), 1, false,
                                            [&, i](std::error_code ec4, int) {
                                                if (!note(i, "reply", ec4)) ++published;
                                            });
                });
            });
        });
    };
    for (int k = 0; k < 100; ++k) connect_next();

    const bool all_done = run_until(
        io, [&] { return replies.size() == clients || errors.size() >= 10; }, bulk_timeout);
    INFO("connected " << connected << ", subscribed " << subscribed << ", commands " << commands << ", received "
                      << received << ", replies published " << published << ", replies seen " << replies.size());
    INFO("first errors: " << (errors.empty() ? std::string("none") : errors.front()));
    CHECK(errors.empty());
    REQUIRE(all_done);
    REQUIRE(run_until(io, [&] { return published == clients && commands == clients; }));
    CHECK(connected == clients);
    CHECK(subscribed == clients);
    CHECK(received == clients);
    // No thread per client: one io_context, one thread (the test's).
    CHECK(thread_count() <= threads_before + 1);

    // Everybody says goodbye; the io_context then has nothing left to do.
    std::size_t disconnected = 0;
    for (auto& c : fleet)
        c->async_disconnect([&](std::error_code ec) {
            if (!note(0, "disconnect", ec)) ++disconnected;
        });
    commander.async_disconnect([&](std::error_code ec) { note(0, "commander disconnect", ec); });
    CHECK(run_to_completion(io, bulk_timeout));
    CHECK(disconnected == clients);
    CHECK(errors.empty());
}

TEST_CASE("one client used from 4 threads while its io_context runs on 2: every operation completes once",
          "[async][threads]")
{
    // async_client.hpp: with an io_context run by several threads, the
    // client's executor is a strand; its operations may be started from any
    // thread. The handlers run on the strand (the client's executor), i.e. on
    // either io thread, one at a time; the counters are read by the test
    // thread (hence the atomics).
    broker_options options;
    options.extra_config = {"max_queued_messages 0"};
    broker b(options);
    asio::io_context io;
    io_threads loop(io, 2);
    const auto topic = unique_topic("mt");

    mqtt::async_client c(asio::make_strand(io), unique_id("mt"));
    {
        threaded_outcome<bool> connected;
        c.async_connect(b.host(), b.port(), 60, connected.handler());
        REQUIRE(connected.wait());
        REQUIRE_FALSE(connected.ec());
        threaded_outcome<std::vector<int>> subscribed;
        c.async_subscribe(topic + "/#", 2, subscribed.handler());
        REQUIRE(subscribed.wait());
        REQUIRE_FALSE(subscribed.ec());
        REQUIRE(subscribed.value() == std::vector<int>{2});
    }

    // Receiving: a chain of async_receive calls; each handler (on either
    // io thread) starts the next, until every expected message arrived.
    constexpr int threads = 4;
    constexpr int per_thread = 200;
    constexpr int total = threads * per_thread;
    std::mutex received_mutex;
    std::vector<std::string> received;
    std::promise<void> all_received;
    std::atomic<int> receive_errors{0};
    std::function<void()> receive_next = [&] {
        c.async_receive([&](std::error_code ec, mqtt::message m) {
            if (ec) {
                receive_errors.fetch_add(1);
                return;
            }
            std::size_t n;
            {
                std::lock_guard<std::mutex> lock(received_mutex);
                received.push_back(std::move(m.payload));
                n = received.size();
            }
            if (n == static_cast<std::size_t>(total))
                all_received.set_value();
            else
                receive_next();
        });
    };
    receive_next();

    std::atomic<int> publish_done{0}, publish_errors{0}, sub_done{0}, sub_errors{0};
    std::atomic<int> handler_calls_total{0};
    {
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i) {
                    const int qos = 1 + (i % 2);
                    c.async_publish(topic + "/" + std::to_string(t), std::to_string(t) + ":" + std::to_string(i), qos,
                                    false, [&](std::error_code ec, int) {
                                        handler_calls_total.fetch_add(1);
                                        if (ec) publish_errors.fetch_add(1);
                                        publish_done.fetch_add(1);
                                    });
                    if (i % 50 == 0) {
                        // Subscriptions beside, on topics nobody publishes to.
                        const auto other = "other/" + topic + "/" + std::to_string(t) + "/" + std::to_string(i);
                        c.async_subscribe(other, 1, [&, other](std::error_code ec, std::vector<int>) {
                            handler_calls_total.fetch_add(1);
                            if (ec) sub_errors.fetch_add(1);
                            c.async_unsubscribe(other, [&](std::error_code ec2) {
                                handler_calls_total.fetch_add(1);
                                if (ec2) sub_errors.fetch_add(1);
                                sub_done.fetch_add(1);
                            });
                        });
                    }
                    (void)c.is_connected();
                    (void)c.queued_messages();
                }
            });
        }
        for (auto& w : workers) w.join();
    }
    auto done = all_received.get_future();
    CHECK(done.wait_for(bulk_timeout) == std::future_status::ready);
    const auto deadline = steady::now() + bulk_timeout;
    while ((publish_done.load() < total || sub_done.load() < threads * (per_thread / 50)) && steady::now() < deadline)
        std::this_thread::sleep_for(1ms);

    CHECK(publish_done.load() == total);
    CHECK(publish_errors.load() == 0);
    CHECK(sub_done.load() == threads * (per_thread / 50));
    CHECK(sub_errors.load() == 0);
    CHECK(receive_errors.load() == 0);
    CHECK(handler_calls_total.load() == total + 2 * threads * (per_thread / 50));

    // Per thread and QoS, messages arrive in publish order (MQTT orders
    // messages of one QoS on one topic; QoS 2 is delivered on PUBREL, so
    // QoS 1 may overtake it).
    std::vector<std::string> got;
    {
        std::lock_guard<std::mutex> lock(received_mutex);
        got = received;
    }
    REQUIRE(got.size() == static_cast<std::size_t>(total));
    for (int t = 0; t < threads; ++t) {
        std::vector<int> seq[2];
        const auto prefix = std::to_string(t) + ":";
        for (const auto& p : got)
            if (p.rfind(prefix, 0) == 0) {
                const int i = std::stoi(p.substr(prefix.size()));
                seq[i % 2].push_back(i);
            }
        INFO("thread " << t);
        CHECK(seq[0].size() + seq[1].size() == static_cast<std::size_t>(per_thread));
        CHECK(std::is_sorted(seq[0].begin(), seq[0].end()));
        CHECK(std::is_sorted(seq[1].begin(), seq[1].end()));
    }

    threaded_outcome<> disconnected;
    c.async_disconnect(disconnected.handler());
    REQUIRE(disconnected.wait());
    CHECK_FALSE(disconnected.ec());  // the goodbye went out
}
