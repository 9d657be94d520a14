#pragma once

// Shared by the tests/client/*_test.cpp files: thread-safe recorders for what
// the callbacks see (every wait is bounded and built on a condition
// variable), unique client ids, a TCP listener that never answers, and a
// small wrapper that wires all callbacks of a client to recorders.

#include <mqtt/client.hpp>

#include "support/broker.hpp"
#include "support/catch.hpp"
#include "support/recorder.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace client_test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// The bound for ordinary waits: long enough for a sanitizer build, short
// enough that a hang shows up as a failure rather than a stuck test run.
constexpr std::chrono::milliseconds wait_timeout{5000};
// The bound for the bulk tests (10 000 messages), generous for TSan.
constexpr std::chrono::milliseconds bulk_timeout{120000};

using mqtt_test::recorder;
using mqtt_test::unique_id;

// A topic prefix unique per test, so retained messages or stray
// subscriptions of one test never reach another.
inline std::string unique_topic(std::string_view tag)
{
    return "test/" + unique_id(tag);
}

// The received messages, in arrival order.
class message_collector : public recorder<mqtt::message> {
public:
    // An on_message callback that records into this collector. The collector
    // must outlive the client (declare it before the client).
    std::function<void(mqtt::client&, const mqtt::message&)> handler()
    {
        return [this](mqtt::client&, const mqtt::message& m) { push(m); };
    }

    // True once a message on `topic` arrived.
    bool wait_for_topic(const std::string& topic, std::chrono::milliseconds timeout = wait_timeout) const
    {
        return wait_until(
            [&](const std::vector<mqtt::message>& ms) {
                for (const auto& m : ms)
                    if (m.topic == topic) return true;
                return false;
            },
            timeout);
    }

    std::vector<std::string> payloads() const
    {
        std::vector<std::string> out;
        for (const auto& m : items()) out.push_back(m.payload);
        return out;
    }
};

struct connect_result {
    bool session_present;
    int return_code;
};

struct subscribe_result {
    int mid;
    std::vector<int> granted_qos;
};

struct log_entry {
    mqtt::log_level level;
    std::string text;
};

// Every callback of one client, recorded. Declare before the client it is
// attached to (the client must be destroyed first).
struct callback_log {
    recorder<connect_result> connects;
    recorder<std::error_code> connect_fails;
    recorder<std::error_code> disconnects;
    message_collector messages;
    recorder<int> published;
    recorder<subscribe_result> subscribed;
    recorder<int> unsubscribed;
    recorder<log_entry> logs;

    void attach(mqtt::client& c)
    {
        c.on_connect = [this](mqtt::client&, bool sp, int rc) { connects.push({sp, rc}); };
        c.on_connect_fail = [this](mqtt::client&, std::error_code ec) { connect_fails.push(ec); };
        c.on_disconnect = [this](mqtt::client&, std::error_code ec) { disconnects.push(ec); };
        c.on_message = messages.handler();
        c.on_publish = [this](mqtt::client&, int mid) { published.push(mid); };
        c.on_subscribe = [this](mqtt::client&, int mid, const std::vector<int>& granted) {
            subscribed.push({mid, granted});
        };
        c.on_unsubscribe = [this](mqtt::client&, int mid) { unsubscribed.push(mid); };
    }

    // on_log too, for the tests that read the log: with on_log set the client
    // traces every packet, which bulk tests do not need.
    void record_log(mqtt::client& c)
    {
        c.on_log = [this](mqtt::client&, mqtt::log_level level, const std::string& text) {
            logs.push({level, text});
        };
    }

    bool wait_for_suback(int mid, std::chrono::milliseconds timeout = wait_timeout) const
    {
        return subscribed.wait_until(
            [mid](const std::vector<subscribe_result>& rs) {
                for (const auto& r : rs)
                    if (r.mid == mid) return true;
                return false;
            },
            timeout);
    }

    bool wait_for_unsuback(int mid, std::chrono::milliseconds timeout = wait_timeout) const
    {
        return unsubscribed.wait_until(
            [mid](const std::vector<int>& ms) {
                for (int m : ms)
                    if (m == mid) return true;
                return false;
            },
            timeout);
    }
};

// A client with every callback recorded. The recorders are declared first,
// so they outlive the client.
struct test_client {
    callback_log log;
    mqtt::client client;

    explicit test_client(std::string id, std::optional<bool> clean_session = std::nullopt,
                         mqtt::protocol_version protocol = mqtt::protocol_version::mqtt311)
        : client(std::move(id), clean_session, protocol)
    {
        log.attach(client);
    }

    // connect() (returns once CONNACK arrived), then loop_start().
    void start(const mqtt_test::broker& b, int keepalive = 60)
    {
        client.connect(b.host(), b.port(), keepalive);
        REQUIRE(client.is_connected());
        REQUIRE_FALSE(client.loop_start());
    }

    // subscribe() and wait for its SUBACK (on_subscribe with the same mid):
    // afterwards the broker routes matching messages to this client.
    void subscribe_and_wait(const std::string& filter, int qos)
    {
        auto [rc, mid] = client.subscribe(filter, qos);
        REQUIRE_FALSE(rc);
        REQUIRE(log.wait_for_suback(mid));
    }

    message_collector& messages() { return log.messages; }
};

// How often `text` occurs in the broker's log.
inline std::size_t broker_log_count(const mqtt_test::broker& b, const std::string& text)
{
    const std::string log = b.log();
    std::size_t n = 0;
    for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1)) ++n;
    return n;
}

// Polls the broker's log file until `text` occurs at least `count` times
// (Mosquitto logs every packet with log_type all). A condition poll with a
// bound, not a delay.
inline bool wait_for_broker_log(const mqtt_test::broker& b, const std::string& text,
                                std::chrono::milliseconds timeout = wait_timeout, std::size_t count = 1)
{
    const auto deadline = steady::now() + timeout;
    for (;;) {
        if (broker_log_count(b, text) >= count) return true;
        if (steady::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

// The broker logged that client `id` is gone: a clean DISCONNECT, a closed
// connection or a socket error.
inline bool wait_for_broker_to_drop(const mqtt_test::broker& b, const std::string& id,
                                    std::chrono::milliseconds timeout = wait_timeout)
{
    const auto deadline = steady::now() + timeout;
    for (;;) {
        const auto log = b.log();
        if (log.find("Client " + id + " closed its connection") != std::string::npos ||
            log.find("Client " + id + " disconnected") != std::string::npos ||
            log.find("Socket error on client " + id) != std::string::npos)
            return true;
        if (steady::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

// A TCP socket on 127.0.0.1 that listens and never accepts or answers: the
// kernel completes the handshake, then nothing ever comes back (a broker
// that hangs before CONNACK).
class silent_listener {
public:
    silent_listener()
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) {
            const int e = errno;
            ::close(fd_);
            throw std::system_error(e, std::generic_category(), "bind/listen");
        }
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~silent_listener() { ::close(fd_); }
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;

    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A scripted broker that answers CONNECT with CONNACK (accepted) and then
// goes silent: it reads and discards whatever comes, never answers again
// (no PUBACK, no PINGRESP). One connection at a time; a broker that hangs.
// With refuse_subscriptions it answers each SUBSCRIBE with a SUBACK refusing
// every filter (0x80), which Mosquitto never does (it grants and then
// filters by ACL), and nothing else.
class silent_after_connack_broker {
public:
    explicit silent_after_connack_broker(bool refuse_subscriptions = false)
        : refuse_subscriptions_(refuse_subscriptions), thread_([this] { run(); })
    {
    }
    ~silent_after_connack_broker()
    {
        stop_.store(true);
        thread_.join();
        ::close(listener_.fd);
    }
    silent_after_connack_broker(const silent_after_connack_broker&) = delete;
    silent_after_connack_broker& operator=(const silent_after_connack_broker&) = delete;

    std::uint16_t port() const { return listener_.port; }
    // Bytes received after the CONNECT, over all connections.
    std::size_t bytes_after_connect() const { return after_connect_.load(); }
    std::size_t connections() const { return connections_.load(); }

private:
    struct listener {
        int fd = -1;
        std::uint16_t port = 0;
        listener()
        {
            fd = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0)
                throw std::runtime_error("silent_after_connack_broker: cannot listen");
            socklen_t len = sizeof addr;
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
            port = ntohs(addr.sin_port);
        }
    };

    static bool readable(int fd)
    {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, 20) > 0;
    }

    void run()
    {
        while (!stop_.load()) {
            if (!readable(listener_.fd)) continue;
            const int conn = ::accept(listener_.fd, nullptr, nullptr);
            if (conn < 0) continue;
            connections_.fetch_add(1);
            serve(conn);
            ::close(conn);
        }
    }

    void serve(int conn)
    {
        // The CONNECT: fixed header, remaining length, then that many bytes.
        std::vector<std::uint8_t> in;
        std::size_t need = 0;
        bool answered = false;
        std::uint8_t buf[4096];
        while (!stop_.load()) {
            if (!readable(conn)) continue;
            const auto n = ::recv(conn, buf, sizeof buf, 0);
            if (n <= 0) return;  // the client closed
            if (answered) {
                after_connect_.fetch_add(static_cast<std::size_t>(n));
                if (refuse_subscriptions_) {
                    in.insert(in.end(), buf, buf + n);
                    refuse_subscribes(conn, in);
                }
                continue;
            }
            in.insert(in.end(), buf, buf + n);
            if (need == 0 && in.size() >= 2) {
                std::size_t len = 0;
                std::size_t i = 1;
                unsigned shift = 0;
                while (i < in.size()) {
                    len |= static_cast<std::size_t>(in[i] & 0x7f) << shift;
                    shift += 7;
                    if ((in[i++] & 0x80) == 0) {
                        need = i + len;
                        break;
                    }
                }
            }
            if (need != 0 && in.size() >= need) {
                const std::uint8_t connack[4] = {0x20, 0x02, 0x00, 0x00};
                ::send(conn, connack, sizeof connack, MSG_NOSIGNAL);
                answered = true;
                after_connect_.fetch_add(in.size() - need);
                in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(need));
                if (refuse_subscriptions_) refuse_subscribes(conn, in);
            }
        }
    }

    // Consumes the complete packets at the front of `in`; answers each
    // SUBSCRIBE with a SUBACK of 0x80 per filter.
    static void refuse_subscribes(int conn, std::vector<std::uint8_t>& in)
    {
        for (;;) {
            std::size_t len = 0, i = 1;
            unsigned shift = 0;
            bool have_length = false;
            while (i < in.size() && i < 5) {
                len |= static_cast<std::size_t>(in[i] & 0x7f) << shift;
                shift += 7;
                if ((in[i++] & 0x80) == 0) {
                    have_length = true;
                    break;
                }
            }
            if (!have_length || in.size() < i + len) return;
            if (in[0] == 0x82 && len >= 2) {
                std::vector<std::uint8_t> suback = {0x90, 0x02, in[i], in[i + 1]};
                for (std::size_t p = i + 2; p + 2 <= i + len;) {
                    p += 2 + (static_cast<std::size_t>(in[p]) << 8 | in[p + 1]) + 1;  // filter and QoS byte
                    suback.push_back(0x80);
                    ++suback[1];
                }
                ::send(conn, suback.data(), suback.size(), MSG_NOSIGNAL);
            }
            in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(i + len));
        }
    }

    const bool refuse_subscriptions_;
    listener listener_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> after_connect_{0};
    std::atomic<std::size_t> connections_{0};
    std::thread thread_;
};

// Waits until pred() holds, polling every millisecond; false after
// `timeout`. For state only observable by polling (an atomic another thread
// advances); everything a callback reports is waited for on a recorder.
template <class Pred>
bool poll_until(Pred pred, std::chrono::milliseconds timeout = wait_timeout)
{
    const auto deadline = steady::now() + timeout;
    while (!pred()) {
        if (steady::now() >= deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// How long f() took.
template <class F>
steady::duration time_of(F&& f)
{
    const auto start = steady::now();
    std::forward<F>(f)();
    return steady::now() - start;
}

inline long long ms(steady::duration d)
{
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// Runs f on its own thread; done_within() waits for it with a bound.
class bounded_thread {
public:
    template <class F>
    explicit bounded_thread(F f)
    {
        thread_ = std::thread([this, f = std::move(f)]() mutable {
            f();
            {
                std::lock_guard<std::mutex> lock(mutex_);
                done_ = true;
            }
            cv_.notify_all();
        });
    }
    ~bounded_thread()
    {
        if (thread_.joinable()) thread_.join();
    }
    bounded_thread(const bounded_thread&) = delete;
    bounded_thread& operator=(const bounded_thread&) = delete;

    bool done_within(std::chrono::milliseconds timeout)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return done_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

// A payload of n bytes that covers every byte value, NUL included, and
// differs per size (a truncated or shifted payload does not compare equal).
inline std::string pattern_payload(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + n) & 0xff);
    return s;
}

}  // namespace client_test

// The error_code as text in assertion messages: "mqtt:27 (connect timed out)".
namespace Catch {
template <>
struct StringMaker<std::error_code> {
    static std::string convert(const std::error_code& ec)
    {
        return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
    }
};
template <>
struct StringMaker<mqtt::errc> {
    static std::string convert(mqtt::errc e) { return StringMaker<std::error_code>::convert(mqtt::make_error_code(e)); }
};
}  // namespace Catch
