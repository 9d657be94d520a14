#pragma once

// mqtt::client — the paho-style facade. One object owns an asio::io_context
// (the message loop), an outgoing buffer and an incoming buffer.
//
// Thread safety: every public member may be called from any thread, callbacks
// included. Protocol and socket state is touched only by the thread that runs
// the loop (loop_start's thread, or the caller of connect/loop/loop_forever/
// disconnect when no loop thread runs). Callbacks run on that thread with no
// internal lock held.

#include <mqtt/detail/backoff.hpp>
#include <mqtt/detail/buffer_pool.hpp>
#include <mqtt/detail/callback.hpp>
#include <mqtt/detail/delivery.hpp>
#include <mqtt/detail/message_router.hpp>
#include <mqtt/detail/overloaded.hpp>
#include <mqtt/detail/slot_allocator.hpp>
#include <mqtt/detail/unsent_bytes.hpp>
#include <mqtt/error.hpp>
#include <mqtt/log_level.hpp>
#include <mqtt/message.hpp>
#include <mqtt/message_info.hpp>
#include <mqtt/protocol/decoder.hpp>
#include <mqtt/protocol/describe.hpp>
#include <mqtt/protocol/encoder.hpp>
#include <mqtt/protocol/packet.hpp>
#include <mqtt/queue_policy.hpp>
#include <mqtt/session/machine.hpp>
#include <mqtt/session/ring_queue.hpp>
#include <mqtt/topic.hpp>
#include <mqtt/version.hpp>

#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <any>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace mqtt {
inline namespace v1 {

enum class protocol_version : std::uint8_t { mqtt31 = 3, mqtt311 = 4 };

// One broker address; connect() takes one or a list to fail over between.
struct server {
    std::string host;
    std::uint16_t port = 1883;
};

class client {
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
    detail::callback<void(client&, bool session_present, int return_code)> on_connect;
    detail::callback<void(client&, std::error_code reason)> on_connect_fail;
    detail::callback<void(client&, std::error_code reason)> on_disconnect;  // success after disconnect()
    detail::callback<void(client&, const message&)> on_message;
    detail::callback<void(client&, int mid)> on_publish;
    detail::callback<void(client&, int mid, const std::vector<int>& granted_qos)> on_subscribe;
    detail::callback<void(client&, int mid)> on_unsubscribe;
    detail::callback<void(client&, log_level, const std::string&)> on_log;

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

    void username_pw_set(std::string username, std::optional<std::string> password = std::nullopt);
    void will_set(std::string_view topic, std::string_view payload = {}, int qos = 0, bool retain = false);
    void will_clear();
    void max_inflight_messages_set(int inflight);  // default 20
    void max_queued_messages_set(std::size_t queue_size);  // default 100000; 0 = no count bound
    void max_queued_bytes_set(std::size_t bytes);  // 0 = no byte bound; default 256 MiB
    void queue_policy_set(queue_policy policy);  // default reject
    // Automatic reconnect after a lost connection, while a loop runs (paho's
    // reconnect_on_failure, default on): delays grow from min to max with jitter.
    void reconnect_delay_set(std::chrono::milliseconds min_delay = std::chrono::seconds(1),
                             std::chrono::milliseconds max_delay = std::chrono::seconds(120));
    void reconnect_on_failure_set(bool enabled);
    void reconnect_jitter_seed(std::uint32_t seed);  // reproducible delays, for tests
    // After an automatic reconnect (not after disconnect() + connect()) that
    // found no session on the broker, subscribes again to the filters this
    // session subscribed, except those on_connect just subscribed (default on).
    void resubscribe_on_reconnect_set(bool enabled);
    // QoS 2 messages received and awaiting their PUBREL (only the packet id is
    // kept); more is a protocol error that closes the connection. Default 65535.
    void max_inbound_qos2_set(std::size_t count);
    void connect_timeout_set(std::chrono::milliseconds timeout);  // default 5 s
    void disconnect_timeout_set(std::chrono::milliseconds timeout);  // default 5 s
    void max_packet_size_set(std::size_t bytes);  // largest packet accepted from the broker
    // Per-filter callbacks: each whose filter matches runs; on_message only when none did.
    void message_callback_add(std::string_view filter, std::function<void(client&, const message&)> callback);
    bool message_callback_remove(std::string_view filter);
    // Log lines also go to `out` (as paho's enable_logger); the library never
    // writes to stdout or stderr by itself. Passwords never appear in a line.
    void enable_logger(std::ostream& out, log_level min_level = log_level::debug);
    void disable_logger();
    void user_data_set(std::any data);
    std::any user_data() const;

    bool is_connected() const noexcept { return connected_.load(std::memory_order_acquire); }
    std::size_t queued_messages() const;

private:
    // The transport, as the loop sees it; the session knows the MQTT side.
    enum class link_state { down, opening, open };

    // What the loop reports to the user's callbacks, in order.
    struct connect_failed { std::error_code reason; };
    struct publish_done { int mid; };
    using event = std::variant<message, session::connected, connect_failed, session::disconnected, publish_done,
                               session::subscribed, session::unsubscribed, session::log_line,
                               session::resubscribe_due>;

    // One handler type for every post and one for every timer: each distinct
    // handler type costs a set of Asio instantiations, i.e. compile time.
    // `arg` is the connection generation or connect attempt the work belongs
    // to: work for an older one does nothing.
    struct loop_task {
        client* self;
        void (client::*fn)(std::uint64_t);
        std::uint64_t arg = 0;
        void operator()() const { (self->*fn)(arg); }
        // Asio allocates the posted operation with this: no heap per wake-up.
        using allocator_type = detail::slot_allocator<void>;
        allocator_type get_allocator() const noexcept { return allocator_type(&self->post_slot_); }
    };
    struct timer_task {
        client* self;
        void (client::*fn)(std::uint64_t gen);
        std::uint64_t gen;
        void operator()(std::error_code ec) const
        {
            if (!ec && gen == self->gen_) (self->*fn)(gen);
        }
    };

    // The gather list as handed to async_write, which keeps a copy of its
    // buffer sequence: a view copies for free, a std::vector would allocate.
    struct buffer_span {
        using value_type = asio::const_buffer;
        using const_iterator = const asio::const_buffer*;
        const_iterator first;
        const_iterator last;
        const_iterator begin() const noexcept { return first; }
        const_iterator end() const noexcept { return last; }
    };

    // Public-side helpers (any thread).
    void wake();
    template <class Pred>
    std::error_code run_until(Pred done, clock::time_point deadline);
    std::error_code start_connect_request(std::vector<server> servers, int keepalive, bool blocking);
    void connect_and_wait(std::vector<server> servers, int keepalive, std::error_code& ec);
    std::error_code wait_for_connect(std::uint64_t attempt);
    [[noreturn]] static void throw_connect_error(const std::vector<server>& servers, std::error_code ec);

    // Loop-side (loop thread only).
    void on_wake_posted(std::uint64_t);
    void give_up_connect(std::uint64_t attempt);
    void force_close(std::uint64_t session_number);
    void start_connect();
    void on_tcp_connected(std::uint64_t gen);
    void on_connect_timeout(std::uint64_t gen);
    void on_reconnect_due(std::uint64_t gen);
    void on_session_timer(std::uint64_t gen);
    void link_down(std::error_code ec);
    void fail_attempt(std::error_code ec, bool report_connect_fail);
    void finish_attempt(std::error_code ec);
    void close_transport();
    void schedule_reconnect();
    void pump();
    void collect_events();
    void start_write();
    void on_write(std::error_code ec, std::uint64_t gen);
    void start_read(std::uint64_t gen);
    void on_read(std::error_code ec, std::size_t n, std::uint64_t gen);
    void log(log_level level, std::string text);
    bool log_wanted() const;
    void write_log_line(log_level level, const std::string& text);
    void deliver(const message& m);
    void dispatch_events();
    void invoke(event& ev);

    // ---- shared state, guarded by mutex_ ----
    mutable std::mutex mutex_;
    std::condition_variable state_cv_;
    session::machine<detail::delivery_ref> session_;  // the MQTT session: queue, window, acks, keepalive
    std::string client_id_;
    bool clean_session_ = true;
    protocol::protocol_version version_ = protocol::protocol_version::v311;
    std::optional<std::string> username_;
    std::optional<std::string> password_;
    std::optional<protocol::will> will_;
    std::vector<server> servers_;  // what connect() was given
    bool servers_changed_ = false;  // a new list: start from its first broker
    std::uint16_t keepalive_ = 60;
    detail::backoff backoff_{std::chrono::seconds(1), std::chrono::seconds(120)};
    std::chrono::milliseconds connect_timeout_{5000};
    std::size_t max_packet_size_ = protocol::max_remaining_length + 5;
    std::any user_data_;
    bool connect_requested_ = false;
    bool attempt_blocking_ = false;  // a connect() call waits and reports the failure itself
    std::uint64_t attempt_started_ = 0;  // connect attempts requested
    std::uint64_t attempt_finished_ = 0;  // ... and finished (CONNACK or failure)
    std::error_code attempt_result_;
    std::error_code ended_by_;  // why the last session ended (empty: disconnect())
    std::uint64_t sessions_begun_ = 0;
    bool loop_running_ = false;  // a loop_start thread runs the io_context
    bool driving_ = false;  // a caller thread runs the io_context
    std::thread thread_;

    // ---- loop-thread state ----
    // Memory for the one outstanding wake-up post. Declared before io_, so it
    // outlives the handlers io_ destroys unrun.
    detail::handler_slot post_slot_;
    asio::io_context io_{1};
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    asio::ip::tcp::resolver resolver_{io_};
    asio::ip::tcp::socket socket_{io_};
    asio::steady_timer connect_timer_{io_};
    asio::steady_timer session_timer_{io_};  // the session's next deadline (keepalive, disconnect)
    asio::steady_timer reconnect_timer_{io_};
    bool session_timer_armed_ = false;
    clock::time_point session_timer_at_{};
    protocol::connect connect_packet_;  // of the current attempt
    bool current_attempt_blocking_ = false;
    std::uint64_t attempt_current_ = 0;  // the attempt this connection answers
    std::size_t server_index_ = 0;  // the broker tried now
    std::size_t servers_tried_ = 0;  // in this round of the list
    clock::time_point up_since_{};
    link_state link_ = link_state::down;
    std::uint64_t gen_ = 0;  // bumps with each connection so stale handlers see they are stale
    protocol::decoder decoder_;
    std::vector<std::uint8_t> read_buffer_ = std::vector<std::uint8_t>(64 * 1024);
    bool writing_ = false;  // an async_write is under way
    std::size_t write_progress_bytes_ = 0;
    clock::time_point write_progress_at_{};  // when bytes last moved out
    std::size_t unsent_at_last_tick_ = 0;  // the kernel send queue at the last session timer
    std::vector<session::chunk> chunks_;
    std::vector<asio::const_buffer> write_buffers_;
    std::vector<protocol::byte_buffer> recycled_;  // done with, for buffers_ (in one batch)
    session::ring_queue<event> events_;  // the incoming buffer, delivered in order
    bool dispatching_ = false;
    bool pumping_ = false;

    std::atomic<bool> connected_{false};
    std::atomic<bool> wake_posted_{false};
    detail::message_router router_;
    std::mutex logger_mutex_;  // a slow log stream must not stall publishers on mutex_
    std::ostream* logger_ = nullptr;
    std::atomic<bool> logger_on_{false};  // logger_ is set: read without the lock
    log_level logger_min_level_ = log_level::debug;
    const std::shared_ptr<detail::loop_identity> loop_id_ = std::make_shared<detail::loop_identity>();
    detail::pool_owner deliveries_{loop_id_};  // message_info states, recycled
    detail::buffer_pool buffers_;  // encoded-packet buffers, recycled
};

}  // namespace v1
}  // namespace mqtt

#include <mqtt/impl/client_api.ipp>
#include <mqtt/impl/client_connection.ipp>
#include <mqtt/impl/client_loop.ipp>
#include <mqtt/impl/client_io.ipp>
