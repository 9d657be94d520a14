#pragma once

// Shared by the tests/async/*_test.cpp files (mqtt::async_client, the Asio
// face): driving an io_context from the test thread with a bound, an
// io_context run by background threads, completion records that count how
// often a handler ran, and scripted-broker shorthands.
//
// Every wait is bounded: a hang shows up as a failed check, not as a stuck
// test run.

#include <mqtt/async_client.hpp>
#include <mqtt/protocol/describe.hpp>

#include "support/broker.hpp"
#include "support/catch.hpp"
#include "support/recorder.hpp"
#include "support/scripted_broker.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace async_test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Long enough for a sanitizer build, short enough that a hang shows up as a
// failure rather than a stuck run.
constexpr std::chrono::milliseconds wait_timeout{10000};
// For the bulk cases (1 000 clients, thousands of messages under TSan).
constexpr std::chrono::milliseconds bulk_timeout{120000};

using mqtt_test::recorder;
using mqtt_test::unique_id;

// A topic prefix unique per test.
inline std::string unique_topic(std::string_view tag)
{
    return "test/" + unique_id(tag);
}

// Runs `io` on the calling thread until pred() holds; false when `timeout`
// passed first. Restarts the context when it ran out of work (a client that
// is idle between operations holds none), so pred may also wait for another
// thread (a scripted broker).
template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds timeout = wait_timeout)
{
    const auto deadline = steady::now() + timeout;
    while (!pred()) {
        const auto now = steady::now();
        if (now >= deadline) return false;
        if (io.stopped()) io.restart();
        const auto slice = std::min<steady::duration>(deadline - now, 20ms);
        if (io.run_one_for(slice) == 0 && io.stopped()) {
            // Out of work: nothing on this context can change pred; another
            // thread may. Poll it at a short interval (bounded by deadline).
            std::this_thread::sleep_for(1ms);
        }
    }
    return true;
}

// Runs the handlers that are ready now, without waiting for anything.
inline void run_ready(asio::io_context& io)
{
    if (io.stopped()) io.restart();
    io.poll();
}

// Runs `io` until it has no work left, at most `timeout`. True when it ran
// out of work (nothing left pending on the context), false when time ran out.
inline bool run_to_completion(asio::io_context& io, std::chrono::milliseconds timeout = wait_timeout)
{
    if (io.stopped()) io.restart();
    io.run_for(timeout);
    return io.stopped();
}

// `threads` threads running `io` (kept busy by a work guard) until
// destruction, which stops the context and joins them. For use_future and
// for the multi-threaded cases.
class io_threads {
public:
    explicit io_threads(asio::io_context& io, int threads = 1) : io_(io), guard_(asio::make_work_guard(io))
    {
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
    }
    ~io_threads() { stop(); }
    io_threads(const io_threads&) = delete;
    io_threads& operator=(const io_threads&) = delete;

    // Lets the threads finish what is queued, then stops and joins them.
    void stop()
    {
        guard_.reset();
        io_.stop();
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

private:
    asio::io_context& io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

// What one completion handler saw, and how often it ran. For handlers run on
// the test thread (run_until); the multi-threaded cases use atomics.
template <class... Args>
struct outcome {
    int calls = 0;
    std::error_code ec;
    std::tuple<Args...> values{};
    std::thread::id thread;

    bool done() const { return calls > 0; }

    // A completion handler that records into this outcome, which must outlive
    // the handler's invocation.
    auto handler()
    {
        return [this](std::error_code e, Args... args) {
            ++calls;
            ec = e;
            values = std::tuple<Args...>(std::move(args)...);
            thread = std::this_thread::get_id();
        };
    }

    template <std::size_t I = 0>
    const auto& value() const
    {
        return std::get<I>(values);
    }
};

using connect_outcome = outcome<bool>;              // void(error_code, bool session_present)
using publish_outcome = outcome<int>;               // void(error_code, int mid)
using subscribe_outcome = outcome<std::vector<int>>;  // void(error_code, std::vector<int> granted)
using void_outcome = outcome<>;                     // unsubscribe, disconnect
using receive_outcome = outcome<mqtt::message>;     // void(error_code, message)

// The same for a handler that runs on another thread (an io_context run by
// io_threads): the test thread waits for it with a bound. Failures arrive as
// the error_code, not as an exception as with asio::use_future (whose
// exception_ptr, handed between threads inside the uninstrumented libstdc++,
// TSan reports as a race).
template <class... Args>
class threaded_outcome {
public:
    auto handler()
    {
        return [this](std::error_code e, Args... args) {
            // Notified under the lock: the waiter may destroy this object as
            // soon as it sees calls_ > 0.
            std::lock_guard<std::mutex> lock(mutex_);
            ++calls_;
            ec_ = e;
            values_ = std::tuple<Args...>(std::move(args)...);
            cv_.notify_all();
        };
    }
    // True once the handler ran; false after `timeout`.
    bool wait(std::chrono::milliseconds timeout = wait_timeout)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return calls_ > 0; });
    }
    std::error_code ec() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return ec_;
    }
    int calls() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return calls_;
    }
    template <std::size_t I = 0>
    auto value() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return std::get<I>(values_);
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    int calls_ = 0;
    std::error_code ec_;
    std::tuple<Args...> values_{};
};

// Connects `c` to `b` and runs `io` until CONNACK; REQUIREs success.
inline void connect_or_fail(asio::io_context& io, mqtt::async_client& c, const std::string& host,
                            std::uint16_t port, int keepalive = 60)
{
    connect_outcome connected;
    c.async_connect(host, port, keepalive, connected.handler());
    REQUIRE(run_until(io, [&] { return connected.done(); }));
    REQUIRE_FALSE(connected.ec);
    REQUIRE(c.is_connected());
}

// Subscribes and runs `io` until SUBACK; REQUIREs success.
inline void subscribe_or_fail(asio::io_context& io, mqtt::async_client& c, const std::string& filter, int qos)
{
    subscribe_outcome subscribed;
    c.async_subscribe(filter, qos, subscribed.handler());
    REQUIRE(run_until(io, [&] { return subscribed.done(); }));
    REQUIRE_FALSE(subscribed.ec);
    REQUIRE(subscribed.value() == std::vector<int>{qos});
}

// --- scripted broker shorthands ---------------------------------------------

namespace proto = mqtt::protocol;

inline proto::connack accepted(bool session_present = false)
{
    return proto::connack{session_present, proto::connack_code::accepted};
}

template <class Packet>
Packet as(const proto::packet& p)
{
    if (!std::holds_alternative<Packet>(p)) throw std::runtime_error("unexpected packet " + proto::describe(p));
    return std::get<Packet>(p);
}

// The PUBLISH packets a scripted broker received, by payload.
inline std::vector<std::string> published_payloads(const mqtt_test::scripted_broker& b)
{
    std::vector<std::string> out;
    for (const auto& p : b.received())
        if (std::holds_alternative<proto::publish>(p)) out.push_back(std::get<proto::publish>(p).payload);
    return out;
}

// A one-shot flag set on one thread and waited for (bounded) on another:
// lets a scripted broker's run() step wait for the test to act.
class gate {
public:
    void open()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        open_ = true;
        cv_.notify_all();
    }
    bool wait(std::chrono::milliseconds timeout = wait_timeout)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return open_; });
    }
    bool is_open() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return open_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

}  // namespace async_test

// The error_code as text in assertion messages: "mqtt:3 (invalid topic name)".
namespace Catch {
template <>
struct StringMaker<std::error_code> {
    static std::string convert(const std::error_code& ec)
    {
        return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
    }
};
}  // namespace Catch
