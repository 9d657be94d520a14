// The notebook's "Simple Example" (examples/bulb.cpp) written with C++20
// coroutines on mqtt::async_client: one client subscribes to
// house/bulbs/bulb1, publishes "OFF" to it and receives its own message.
// Each step is a co_await that resumes when the broker answered; no thread is
// started, the io_context runs on main's thread. Prints what bulb prints.
//
//   coroutine_client [host [port]]     (default: localhost 1883)
//
// Built only when the compiler supports coroutines (examples/CMakeLists.txt
// compiles this file as C++20; the library itself is C++17).

#include <mqtt/async_client.hpp>

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <variant>

using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;

// In [2]: what the notebook's on_message callback prints.
void print_message(const mqtt::message& message)
{
    std::cout << "\nmessage payload: " << message.payload << "\n";
    std::cout << "message topic: " << message.topic << "\n";
    std::cout << "message qos: " << message.qos << "\n";
    std::cout << "message retain flag: " << message.retain << std::endl;
}

// In [4], as one coroutine: connect, subscribe, publish, unsubscribe, then
// take the message (it arrived meanwhile: the broker routed it before it
// handled the UNSUBSCRIBE) and disconnect.
asio::awaitable<void> bulb(mqtt::async_client& client, std::string broker_address, std::uint16_t port)
{
    std::cout << "connecting to broker" << std::endl;
    co_await client.async_connect(broker_address, port, 60, use_awaitable);  // resumes at CONNACK

    std::cout << "Subscribing to topic: house/bulbs/bulb1" << std::endl;
    co_await client.async_subscribe("house/bulbs/bulb1", 0, use_awaitable);  // at SUBACK

    std::cout << "Publishing message 'OFF' to topic: house/bulbs/bulb1" << std::endl;
    co_await client.async_publish("house/bulbs/bulb1", "OFF", 0, false, use_awaitable);  // QoS 0: once written

    std::cout << "Unsubscribing from topic: house/bulbs/bulb1" << std::endl;
    co_await client.async_unsubscribe("house/bulbs/bulb1", use_awaitable);  // at UNSUBACK

    // The notebook waits 4 seconds for the message; here the wait ends as
    // soon as it is there (the loser of || is cancelled).
    asio::steady_timer four_seconds(co_await asio::this_coro::executor, std::chrono::seconds(4));
    auto first = co_await (client.async_receive(use_awaitable) || four_seconds.async_wait(use_awaitable));
    if (first.index() == 0)
        print_message(std::get<0>(first));
    else
        std::cout << "\nno message within 4 seconds" << std::endl;

    std::cout << "\ndisconnecting from broker" << std::endl;
    co_await client.async_disconnect(use_awaitable);
}

int main(int argc, char* argv[])
{
    const std::string broker_address = argc > 1 ? argv[1] : "localhost";
    const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);

    asio::io_context io;
    // In [3]: create a new instance.
    std::cout << "creating new instance" << std::endl;
    mqtt::async_client client(io, "P1");  // the ID, in this case "P1", must be unique

    int status = 0;
    asio::co_spawn(io, bulb(client, broker_address, port), [&](std::exception_ptr error) {
        if (!error) return;
        status = 1;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            std::cout << "connection error: " << e.what() << std::endl;
        }
    });
    io.run();  // returns once the coroutine finished and the client is idle
    return status;
}
