#include "common/workloads.hpp"

#include "common/measure.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>

namespace bench {

std::string client_id(const options& opts, const std::string& client, const char* role)
{
    return "bench-" + client + "-" + opts.run_id + "-" + role;
}

std::string topic(const options& opts, const std::string& client, const char* name)
{
    return "bench/" + client + "/" + opts.run_id + "/" + name;
}

result run_throughput(const options& opts, const connection_factory& make, const std::string& client)
{
    const auto deadline = clock::now() + opts.timeout;
    const std::string data_topic = topic(opts, client, "data");
    arrival_counter arrivals(opts.count);
    std::atomic<std::size_t> wrong_size{0};  // counted on the subscriber's thread

    auto subscriber = make();
    subscriber->open(opts, client_id(opts, client, "sub"), [&](std::string_view payload) {
        if (payload.size() != opts.payload) ++wrong_size;
        arrivals.add();
    });
    subscriber->subscribe(data_topic, opts.qos);
    auto publisher = make();
    publisher->open(opts, client_id(opts, client, "pub"), nullptr);

    const std::string payload(opts.payload, 'x');
    result r;
    const double cpu_before = process_cpu_seconds();
    const auto started = clock::now();
    for (std::size_t i = 0; i < opts.count; ++i) publisher->publish(data_topic, payload, opts.qos);
    r.publish_seconds = seconds_between(started, clock::now());
    const bool complete = arrivals.wait(opts.idle_timeout, deadline);
    r.cpu_seconds = process_cpu_seconds() - cpu_before;
    r.received = arrivals.received();
    r.seconds = r.received > 0 ? seconds_between(started, arrivals.last_arrival()) : 0.0;
    if (!complete)
        std::cerr << client << ": " << r.received << " of " << opts.count << " messages arrived (QoS " << opts.qos
                  << ", " << opts.payload << " B)\n";

    publisher->close();
    subscriber->close();
    if (const std::size_t wrong = wrong_size.load())
        throw bench_error(std::to_string(wrong) + " messages arrived with the wrong payload size");
    return r;
}

namespace {

// The pinger's side of one round trip: the main thread waits for the pong
// carrying the sequence number it just sent.
class pong_waiter {
public:
    void arrived(std::string_view payload)
    {
        if (payload.size() < sizeof(std::uint64_t)) return;
        std::uint64_t seq;
        std::memcpy(&seq, payload.data(), sizeof seq);
        const auto now = clock::now();
        std::lock_guard<std::mutex> lock(mutex_);
        if (seq != expected_) return;  // a late pong from a round trip that timed out
        arrived_at_ = now;
        arrived_ = true;
        cv_.notify_one();
    }

    void expect(std::uint64_t seq)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        expected_ = seq;
        arrived_ = false;
    }

    // The arrival time, or nullopt-like clock::time_point{} on timeout.
    clock::time_point wait(clock::time_point deadline)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_until(lock, deadline, [this] { return arrived_; });
        return arrived_ ? arrived_at_ : clock::time_point{};
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::uint64_t expected_ = 0;
    bool arrived_ = false;
    clock::time_point arrived_at_{};
};

}  // namespace

result run_latency(const options& opts, const connection_factory& make, const std::string& client)
{
    const auto deadline = clock::now() + opts.timeout;
    const std::string ping_topic = topic(opts, client, "ping");
    const std::string pong_topic = topic(opts, client, "pong");
    constexpr auto round_trip_timeout = std::chrono::seconds(5);

    auto echoer = make();
    connection* echo = echoer.get();
    echoer->open(opts, client_id(opts, client, "echo"), [&, echo](std::string_view payload) {
        try {
            echo->publish(pong_topic, payload, opts.qos);
        } catch (const std::exception& e) {
            std::cerr << client << ": echo publish failed: " << e.what() << "\n";  // the pinger times out
        }
    });
    echoer->subscribe(ping_topic, opts.qos);
    pong_waiter pongs;
    auto pinger = make();
    pinger->open(opts, client_id(opts, client, "ping"), [&](std::string_view payload) { pongs.arrived(payload); });
    pinger->subscribe(pong_topic, opts.qos);

    std::string payload(opts.payload, 'x');
    std::uint64_t seq = 0;
    // One ping and its pong; false when no pong came in time.
    const auto round_trip = [&](double& micros) {
        ++seq;
        std::memcpy(payload.data(), &seq, sizeof seq);
        pongs.expect(seq);
        const auto sent = clock::now();
        pinger->publish(ping_topic, payload, opts.qos);
        const auto arrived = pongs.wait(std::min(deadline, sent + round_trip_timeout));
        if (arrived == clock::time_point{}) {
            std::cerr << client << ": round trip " << seq << " got no answer; stopping\n";
            return false;
        }
        micros = std::chrono::duration<double, std::micro>(arrived - sent).count();
        return true;
    };

    // Warm-up (connections, allocator, caches), not measured: up to 100
    // round trips or 1 s. Then `count` round trips, or fewer when the budget
    // runs out: a client with Nagle's algorithm on (tens of ms per round
    // trip) gets fewer samples rather than minutes of run time.
    double micros = 0;
    const auto warmup_ends = clock::now() + std::chrono::seconds(1);
    bool answered = true;
    for (int i = 0; i < 100 && answered && clock::now() < warmup_ends; ++i) answered = round_trip(micros);
    result r;
    r.round_trips_us.reserve(opts.count);
    const double cpu_before = process_cpu_seconds();
    const auto measured_from = clock::now();
    const auto budget_ends = measured_from + opts.latency_budget;
    while (answered && r.round_trips_us.size() < opts.count && clock::now() < budget_ends) {
        answered = round_trip(micros);
        if (answered) r.round_trips_us.push_back(micros);
    }
    r.received = r.round_trips_us.size();
    r.seconds = seconds_between(measured_from, clock::now());
    r.cpu_seconds = process_cpu_seconds() - cpu_before;
    pinger->close();
    echoer->close();
    return r;
}

int bench_main(int argc, char** argv, const char* client, const connection_factory& make,
               const throughput_runner& throughput)
{
    options opts;
    try {
        opts = parse_options(argc, argv);
    } catch (const usage_error& e) {
        if (*e.what()) std::cerr << client << ": " << e.what() << "\n";
        std::cerr << usage_text();
        return 2;
    }
    try {
        result r;
        if (opts.kind == workload::latency)
            r = run_latency(opts, make, client);
        else
            r = throughput ? throughput(opts) : run_throughput(opts, make, client);
        print_result(client, opts, r);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << client << ": " << workload_name(opts.kind) << " QoS " << opts.qos << " " << opts.payload
                  << " B: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace bench
