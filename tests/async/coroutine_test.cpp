// mqtt::async_client with C++20 coroutines: asio::use_awaitable and co_spawn,
// the same round trip as tokens_test.cpp, errors as exceptions or as values
// (as_tuple), and a receive raced against a timer (awaitable operators: the
// loser is cancelled, nothing is lost). This file is compiled as C++20 when
// the compiler has coroutines (tests/async/CMakeLists.txt); the library
// itself stays C++17.

#include "async_test_helpers.hpp"

#if defined(ASIO_HAS_CO_AWAIT)

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <exception>

using namespace async_test;
using mqtt_test::broker;

namespace {

// Spawns `coro` on `io` and runs `io` until it finished; rethrows what it
// threw. REQUIREs that it finished within the bound.
template <class Awaitable>
void run_coroutine(asio::io_context& io, Awaitable coro, std::chrono::milliseconds timeout = wait_timeout)
{
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(coro), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    REQUIRE(run_until(io, [&] { return done; }, timeout));
    if (error) std::rethrow_exception(error);
}

}  // namespace

TEST_CASE("use_awaitable: connect, subscribe, publish, receive, unsubscribe, disconnect with co_await",
          "[async][tokens][coroutine]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("coro"));
    const auto topic = unique_topic("coro");

    bool session_present = true;
    std::vector<int> granted;
    int mid = -1;
    mqtt::message received;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        session_present = co_await c.async_connect(b.host(), b.port(), 60, asio::use_awaitable);
        granted = co_await c.async_subscribe(topic, 1, asio::use_awaitable);
        mid = co_await c.async_publish(topic, "awaited", 1, false, asio::use_awaitable);
        received = co_await c.async_receive(asio::use_awaitable);
        co_await c.async_unsubscribe(topic, asio::use_awaitable);
        co_await c.async_disconnect(asio::use_awaitable);
    }());
    CHECK_FALSE(session_present);
    CHECK(granted == std::vector<int>{1});
    CHECK(mid > 0);
    CHECK(received.topic == topic);
    CHECK(received.payload == "awaited");
    CHECK(received.qos == 1);
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("use_awaitable: failures throw system_error with the precise code, as_tuple returns it",
          "[async][tokens][coroutine][bad_input]")
{
    asio::io_context io;
    mqtt::async_client c(io, unique_id("cobad"));

    std::error_code thrown;
    std::error_code as_value;
    std::error_code redirected;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        try {
            co_await c.async_publish("a/+", "x", 0, false, asio::use_awaitable);
        } catch (const std::system_error& e) {
            thrown = e.code();
        }
        auto [ec, granted] = co_await c.async_subscribe("a/#", 3, asio::experimental::as_tuple(asio::use_awaitable));
        as_value = ec;
        CHECK(granted.empty());
        co_await c.async_unsubscribe("a/#/b", asio::redirect_error(asio::use_awaitable, redirected));
    }());
    CHECK(thrown == mqtt::errc::invalid_topic);
    CHECK(as_value == mqtt::errc::invalid_qos);
    CHECK(redirected == mqtt::errc::invalid_topic_filter);
}

TEST_CASE("a receive raced against a timer: the timer wins and cancels it, the next receive gets the message",
          "[async][coroutine][cancel]")
{
    using namespace asio::experimental::awaitable_operators;
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("corace"));
    const auto topic = unique_topic("corace");

    bool timed_out = false;
    mqtt::message later;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        co_await c.async_connect(b.host(), b.port(), 60, asio::use_awaitable);
        co_await c.async_subscribe(topic, 1, asio::use_awaitable);

        // Nothing is published yet: the timer completes first and the
        // receive is cancelled (operator|| cancels the loser).
        asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
        auto first = co_await (c.async_receive(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
        timed_out = first.index() == 1;

        co_await c.async_publish(topic, "after the race", 1, false, asio::use_awaitable);
        later = co_await c.async_receive(asio::use_awaitable);
        co_await c.async_disconnect(asio::use_awaitable);
    }());
    CHECK(timed_out);
    CHECK(later.payload == "after the race");
}

TEST_CASE("many coroutines on one client: each publishes and the subscriber coroutine receives them all",
          "[async][coroutine]")
{
    broker b;
    asio::io_context io;
    mqtt::async_client c(io, unique_id("comany"));
    const auto topic = unique_topic("comany");
    connect_or_fail(io, c, b.host(), b.port());
    subscribe_or_fail(io, c, topic + "/#", 1);

    constexpr int publishers = 20;
    constexpr int per_publisher = 10;
    int published = 0;
    int publish_errors = 0;
    std::vector<std::string> received;
    bool receiver_done = false;
    for (int p = 0; p < publishers; ++p) {
        asio::co_spawn(
            io,
            [&, p]() -> asio::awaitable<void> {
                for (int i = 0; i < per_publisher; ++i) {
                    auto [ec, mid] = co_await c.async_publish(
                        topic + "/" + std::to_string(p), std::to_string(p) + ":" + std::to_string(i), 1, false,
                        asio::experimental::as_tuple(asio::use_awaitable));
                    (void)mid;
                    if (ec) ++publish_errors;
                    ++published;
                }
            },
            asio::detached);
    }
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            while (received.size() < publishers * per_publisher) {
                auto m = co_await c.async_receive(asio::use_awaitable);
                received.push_back(m.payload);
            }
            receiver_done = true;
        },
        asio::detached);
    REQUIRE(run_until(io, [&] { return receiver_done && published == publishers * per_publisher; }, bulk_timeout));
    CHECK(publish_errors == 0);
    // Per publisher, in publish order (one topic per publisher, QoS 1).
    for (int p = 0; p < publishers; ++p) {
        int next = 0;
        for (const auto& payload : received) {
            const auto prefix = std::to_string(p) + ":";
            if (payload.rfind(prefix, 0) == 0) {
                CHECK(payload == prefix + std::to_string(next));
                ++next;
            }
        }
        CHECK(next == per_publisher);
    }
}

#endif  // ASIO_HAS_CO_AWAIT
