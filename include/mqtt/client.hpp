#pragma once

// mqtt::client — the paho-style face. One object owns an asio::io_context
// (the message loop), an outgoing buffer and an incoming buffer. It drives
// the same engine as mqtt::async_client (detail/engine.hpp): what differs is
// only who runs the loop and how results come back.
//
// Thread safety: every public member may be called from any thread, callbacks
// included. Protocol and socket state is touched only by the thread that runs
// the loop (loop_start's thread, or the caller of connect/loop/loop_forever/
// disconnect when no loop thread runs). Callbacks run on that thread with no
// internal lock held.

#include <mqtt/detail/arguments.hpp>
#include <mqtt/detail/client_settings.hpp>
#include <mqtt/detail/config.hpp>
#include <mqtt/detail/engine.hpp>
#include <mqtt/detail/face_callback.hpp>
#include <mqtt/error.hpp>
#include <mqtt/log_level.hpp>
#include <mqtt/message.hpp>
#include <mqtt/message_info.hpp>
#include <mqtt/queue_policy.hpp>
#include <mqtt/server.hpp>
#include <mqtt/topic.hpp>
#include <mqtt/version.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace mqtt {
inline namespace v1 {

namespace detail {
// The io_context a client owns: a base class, so that it exists before the
// engine that runs on it and goes after it.
struct owned_io_context {
    asio::io_context io_{1};
};
}  // namespace detail

class client : private detail::owned_io_context, public detail::client_settings {
public:
    using clock = std::chrono::steady_clock;

    // clean_session defaults to true. An empty client_id needs a clean
    // session (the broker assigns an id); with MQTT 3.1 a random id is made.
    explicit client(std::string client_id = "", std::optional<bool> clean_session = std::nullopt,
                    protocol_version protocol = protocol_version::mqtt311);
    // Closes abruptly (the broker publishes the will) and fails what is
    // pending with errc::shutdown; never waits for the broker. Destroying a
    // client inside its own callback is refused: the loop thread is still
    // inside the client, so the program aborts with a message saying so.
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Callbacks, assignable at any time from any thread, run on the loop thread.
    detail::face_callback<client, void(client&, bool session_present, int return_code)> on_connect{*this,
                                                                                                 engine_->on_connect};
    detail::face_callback<client, void(client&, std::error_code reason)> on_connect_fail{*this, engine_->on_connect_fail};
    detail::face_callback<client, void(client&, std::error_code reason)> on_disconnect{
        *this, engine_->on_disconnect};  // success after disconnect()
    detail::face_callback<client, void(client&, const message&)> on_message{*this, engine_->on_message};
    detail::face_callback<client, void(client&, int mid)> on_publish{*this, engine_->on_publish};
    detail::face_callback<client, void(client&, int mid, const std::vector<int>& granted_qos)> on_subscribe{
        *this, engine_->on_subscribe};
    detail::face_callback<client, void(client&, int mid)> on_unsubscribe{*this, engine_->on_unsubscribe};
    detail::face_callback<client, void(client&, log_level, const std::string&)> on_log{*this, engine_->on_log};

    // Connects and returns once CONNACK arrived. Throws mqtt::error naming
    // host, port and cause. Called from a callback it cannot wait: it starts
    // the attempt like connect_async and returns.
    void connect(const std::string& host, std::uint16_t port = 1883, int keepalive = 60);
    void connect(const std::string& host, std::uint16_t port, int keepalive, std::error_code& ec);
    // Several brokers, tried in turn until one accepts; later reconnects go on
    // from the last one that worked.
    void connect(const std::vector<server>& servers, int keepalive = 60);
    void connect(const std::vector<server>& servers, int keepalive, std::error_code& ec);
    // Starts connecting; the loop (loop_start / loop_forever) completes it.
    std::error_code connect_async(const std::string& host, std::uint16_t port = 1883, int keepalive = 60);
    // Connects again with the last connect's host, port and keepalive.
    void reconnect();
    void reconnect(std::error_code& ec);
    // The clean goodbye: writes what is queued, waits for the acks of QoS 1/2
    // messages in flight for at most disconnect_timeout, then sends
    // DISCONNECT (so the broker never publishes the will) and closes. What is
    // still unacknowledged then completes with errc::disconnected. PUBLISHes
    // that arrive meanwhile are neither delivered nor acknowledged (a
    // persistent session gets them again). Ends the session: the next
    // connect() renews no subscription by itself.
    std::error_code disconnect();

    // From a callback (whoever runs the loop) it returns loop_already_running.
    std::error_code loop_start();
    std::error_code loop_stop();  // safe from a callback: the thread ends when it returns
    std::error_code loop_forever();  // runs the loop on this thread until disconnect() or connection loss
    std::error_code loop(std::chrono::milliseconds timeout = std::chrono::seconds(1));

    // Invalid arguments throw mqtt::error; state errors come back as rc().
    message_info publish(std::string_view topic, std::string_view payload = {}, int qos = 0, bool retain = false);
    std::pair<std::error_code, int> subscribe(std::string_view topic, int qos = 0);
    std::pair<std::error_code, int> subscribe(const std::vector<std::pair<std::string, int>>& topics);
    std::pair<std::error_code, int> unsubscribe(std::string_view topic);
    std::pair<std::error_code, int> unsubscribe(const std::vector<std::string>& topics);

    // Per-filter callbacks: each whose filter matches runs; on_message only when none did.
    void message_callback_add(std::string_view filter, std::function<void(client&, const message&)> callback);
    bool message_callback_remove(std::string_view filter);
    void user_data_set(std::any data);
    std::any user_data() const;

private:
    // Public-side helpers (any thread).
    template <class Pred>
    std::error_code run_until(Pred done, clock::time_point deadline);
    std::error_code start_connect_request(std::vector<server> servers, int keepalive, bool blocking);
    void connect_and_wait(std::vector<server> servers, int keepalive, std::error_code& ec);
    std::error_code wait_for_connect(std::uint64_t attempt);
    [[noreturn]] static void throw_connect_error(const std::vector<server>& servers, std::error_code ec);
    bool on_loop_thread() const noexcept { return engine_->loop_id_->on_loop_thread(); }
    void run_loop_thread();

    // Guarded by engine_->mutex_.
    bool loop_running_ = false;  // a loop_start thread runs the io_context
    bool driving_ = false;  // a caller thread runs the io_context
    std::any user_data_;
    std::thread thread_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
};

}  // namespace v1
}  // namespace mqtt

#if defined(MQTT_CLIENT_HEADER_ONLY)
#include <mqtt/impl/client_api.ipp>
#include <mqtt/impl/client_loop.ipp>
#endif
