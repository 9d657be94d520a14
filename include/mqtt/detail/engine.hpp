#pragma once

// The Asio engine under both faces: drives one session::machine over TCP on
// an executor. It owns the socket, the timers, reconnect with backoff and the
// incoming buffer of events; the MQTT logic is the session's. It lives on the
// heap, shared with its own handlers, so that a face may go (even inside its
// own callback) while handlers are still queued: they find the engine alive
// and the face's callbacks gone.
//
// Locking: members under "shared state" are guarded by mutex_ and may be
// touched from any thread; members under "executor state" only by handlers
// running on the executor (one at a time: a multi-threaded io_context needs a
// strand). Callbacks run on the executor with no lock held.

#include <mqtt/detail/backoff.hpp>
#include <mqtt/detail/buffer_pool.hpp>
#include <mqtt/detail/callback.hpp>
#include <mqtt/detail/config.hpp>
#include <mqtt/detail/delivery.hpp>
#include <mqtt/detail/message_router.hpp>
#include <mqtt/detail/pending_op.hpp>
#include <mqtt/detail/slot_allocator.hpp>
#include <mqtt/error.hpp>
#include <mqtt/log_level.hpp>
#include <mqtt/message.hpp>
#include <mqtt/protocol/decoder.hpp>
#include <mqtt/protocol/packet.hpp>
#include <mqtt/server.hpp>
#include <mqtt/session/machine.hpp>
#include <mqtt/session/ring_queue.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

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
#include <utility>
#include <variant>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace detail {

class engine : public std::enable_shared_from_this<engine> {
public:
    using clock = std::chrono::steady_clock;
    using session_type = session::machine<delivery_ref>;

    // The faces' callbacks, without the face: each face wraps the user's
    // function with a reference to itself, and clears them when it goes.
    callback<void(bool session_present, int return_code)> on_connect;
    callback<void(std::error_code)> on_connect_fail;
    callback<void(std::error_code)> on_disconnect;
    callback<void(const message&)> on_message;
    callback<void(int mid)> on_publish;
    callback<void(int mid, const std::vector<int>& granted_qos)> on_subscribe;
    callback<void(int mid)> on_unsubscribe;
    callback<void(log_level, const std::string&)> on_log;
    message_router router;

    MQTT_CLIENT_DECL engine(asio::any_io_executor ex, std::string client_id, std::optional<bool> clean_session,
                            protocol_version protocol, const char* face);  // face: "client", for errors
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    const asio::any_io_executor& executor() const noexcept { return executor_; }

    // ---- requests, from any thread ----------------------------------------
    // A new session (or a new server list for the current one); the loop
    // starts the attempt. `blocking`: the caller reports a failure itself,
    // so nothing retries behind its back.
    MQTT_CLIENT_DECL std::error_code request_connect(std::vector<server> servers, int keepalive, bool blocking,
                                                     op_ptr op);
    // Arguments are checked by the face (detail/arguments.hpp). On an error
    // the operation completes with it (posted) and the error is returned too.
    MQTT_CLIENT_DECL protocol::byte_buffer encode_publish(std::string_view topic, std::string_view payload, int qos,
                                                          bool retain);
    // Queues an encoded PUBLISH; `delivery` is what completes (its mid set).
    MQTT_CLIENT_DECL std::error_code publish(protocol::byte_buffer bytes, int qos, delivery_ref& delivery, op_ptr op);
    MQTT_CLIENT_DECL std::pair<std::error_code, int> subscribe(const std::vector<std::pair<std::string, int>>& topics,
                                                               op_ptr op);
    MQTT_CLIENT_DECL std::pair<std::error_code, int> unsubscribe(const std::vector<std::string>& topics, op_ptr op);
    MQTT_CLIENT_DECL std::error_code disconnect(op_ptr op);
    // A message for the operation, now or when one arrives.
    MQTT_CLIENT_DECL void receive(op_ptr op);
    // From a cancellation slot (any thread): the operation completes with
    // operation_aborted; see async_client.hpp for what each kind undoes.
    MQTT_CLIENT_DECL void cancel(std::uint64_t op_id);
    MQTT_CLIENT_DECL void cancel_publish(const delivery_ref& delivery);
    // The face is gone: callbacks cleared, the session ends with `reason`,
    // every waiting operation completes with operation_aborted, and the
    // transport closes abruptly on the executor.
    MQTT_CLIENT_DECL void shut_down(std::error_code reason);
    std::uint64_t next_op_id() noexcept { return op_ids_.fetch_add(1, std::memory_order_relaxed) + 1; }

    MQTT_CLIENT_DECL void wake();
    MQTT_CLIENT_DECL void post(void (engine::*fn)(std::uint64_t), std::uint64_t arg);
    bool is_connected() const noexcept { return connected_.load(std::memory_order_acquire); }

    MQTT_CLIENT_DECL void enable_logger(std::ostream& out, log_level min_level);
    MQTT_CLIENT_DECL void disable_logger();

    // ---- executor side (executor only) -------------------------------------
    MQTT_CLIENT_DECL void on_wake_posted(std::uint64_t);
    MQTT_CLIENT_DECL void give_up_connect(std::uint64_t attempt);
    MQTT_CLIENT_DECL void force_close(std::uint64_t session_number);
    MQTT_CLIENT_DECL void dispatch_events();
    MQTT_CLIENT_DECL void log(log_level level, std::string text);

    // What the engine reports to the face, in order.
    struct connect_failed {
        std::error_code reason;
    };
    struct publish_done {
        int mid;
    };
    struct op_done {
        op_ptr op;
        op_result result;
    };
    using event = std::variant<message, session::connected, connect_failed, session::disconnected, publish_done,
                               session::subscribed, session::unsubscribed, session::log_line,
                               session::resubscribe_due, op_done>;

    // ---- shared state, guarded by mutex_ ------------------------------------
    mutable std::mutex mutex_;
    std::condition_variable state_cv_;  // notified whenever the loop changed the session
    session_type session_;  // the MQTT session: queue, window, acks, keepalive
    std::string client_id_;
    bool clean_session_ = true;
    protocol::protocol_version version_ = protocol::protocol_version::v311;
    std::optional<std::string> username_;
    std::optional<std::string> password_;
    std::optional<protocol::will> will_;
    std::vector<server> servers_;  // what connect() was given
    bool servers_changed_ = false;  // a new list: start from its first broker
    std::uint16_t keepalive_ = 60;
    backoff backoff_{std::chrono::seconds(1), std::chrono::seconds(120)};
    std::chrono::milliseconds connect_timeout_{5000};
    std::size_t max_packet_size_ = protocol::max_remaining_length + 5;
    bool connect_requested_ = false;
    bool attempt_blocking_ = false;
    std::uint64_t attempt_started_ = 0;  // connect attempts requested
    std::uint64_t attempt_finished_ = 0;  // ... and finished (CONNACK or failure)
    std::error_code attempt_result_;
    std::error_code ended_by_;  // why the last session ended (empty: disconnect())
    std::uint64_t sessions_begun_ = 0;
    std::uint64_t sessions_ended_ = 0;  // whose end the waiting receives were told of
    bool shut_down_ = false;
    // Waiting async operations.
    std::vector<op_ptr> connect_ops_;
    std::vector<op_ptr> disconnect_ops_;
    std::vector<std::pair<int, op_ptr>> subscribe_ops_;  // by mid
    std::vector<std::pair<int, op_ptr>> unsubscribe_ops_;
    session::ring_queue<op_ptr> receive_ops_;
    // Messages no callback took, for async_receive (async_client only).
    bool receive_enabled_ = false;
    std::size_t max_receive_queue_ = 65536;
    session::ring_queue<message> received_;

    // ---- executor state ----------------------------------------------------
    // A face that owns its io_context (mqtt::client) stops delivering events
    // as soon as that context is stopped, leaving the rest for its next run.
    const asio::io_context* owned_io_ = nullptr;
    session::ring_queue<event> events_;  // the incoming buffer, delivered in order

    const std::shared_ptr<loop_identity> loop_id_ = std::make_shared<loop_identity>();
    pool_owner deliveries_{loop_id_};  // message_info states, recycled
    buffer_pool buffers_;  // encoded-packet buffers, recycled

private:
    // The transport, as the loop sees it; the session knows the MQTT side.
    enum class link_state { down, opening, open };

    // One handler type for every post and one for every timer: each distinct
    // handler type costs a set of Asio instantiations, i.e. compile time.
    // `arg` is the connection generation or connect attempt the work belongs
    // to: work for an older one does nothing.
    struct loop_task {
        std::shared_ptr<engine> self;
        void (engine::*fn)(std::uint64_t);
        std::uint64_t arg = 0;
        void operator()() const { ((*self).*fn)(arg); }
        // Asio allocates the posted operation with this: no heap per wake-up.
        using allocator_type = slot_allocator<void>;
        allocator_type get_allocator() const noexcept { return allocator_type(&self->post_slot_); }
    };
    struct timer_task {
        std::shared_ptr<engine> self;
        void (engine::*fn)(std::uint64_t gen);
        std::uint64_t gen;
        void operator()(std::error_code ec) const
        {
            if (!ec && gen == self->gen_) ((*self).*fn)(gen);
        }
    };
    struct io_task {
        std::shared_ptr<engine> self;
        void (engine::*fn)(std::error_code, std::size_t, std::uint64_t);
        std::uint64_t gen;
        void operator()(std::error_code ec, std::size_t n) const { ((*self).*fn)(ec, n, gen); }
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

    MQTT_CLIENT_DECL void start_connect();
    MQTT_CLIENT_DECL void open_socket(std::uint64_t gen, const std::string& host, std::uint16_t port);
    MQTT_CLIENT_DECL void on_resolved(std::error_code ec, asio::ip::tcp::resolver::results_type results,
                                      std::uint64_t gen);
    MQTT_CLIENT_DECL void on_tcp_connected(std::error_code ec, std::uint64_t gen);
    MQTT_CLIENT_DECL void on_connect_timeout(std::uint64_t gen);
    MQTT_CLIENT_DECL void on_reconnect_due(std::uint64_t gen);
    MQTT_CLIENT_DECL void on_session_timer(std::uint64_t gen);
    MQTT_CLIENT_DECL void link_down(std::error_code ec);
    MQTT_CLIENT_DECL void fail_attempt(std::error_code ec, bool report_connect_fail);
    MQTT_CLIENT_DECL void finish_attempt(std::error_code ec);
    MQTT_CLIENT_DECL void attempt_done(std::error_code ec, bool session_present);
    MQTT_CLIENT_DECL void close_transport();
    MQTT_CLIENT_DECL void schedule_reconnect();
    MQTT_CLIENT_DECL void pump();
    MQTT_CLIENT_DECL void collect_events();
    MQTT_CLIENT_DECL void session_ended();
    MQTT_CLIENT_DECL void start_write();
    MQTT_CLIENT_DECL void on_write(std::error_code ec, std::size_t, std::uint64_t gen);
    MQTT_CLIENT_DECL void start_read(std::uint64_t gen);
    MQTT_CLIENT_DECL void on_read(std::error_code ec, std::size_t n, std::uint64_t gen);
    MQTT_CLIENT_DECL void resize_read_buffer(std::size_t n);
    MQTT_CLIENT_DECL bool log_wanted() const;
    MQTT_CLIENT_DECL void write_log_line(log_level level, const std::string& text);
    MQTT_CLIENT_DECL void deliver(message& m);
    MQTT_CLIENT_DECL void invoke(event& ev);

    std::atomic<std::uint64_t> op_ids_{0};
    std::atomic<bool> connected_{false};
    std::atomic<bool> wake_posted_{false};
    std::mutex logger_mutex_;  // a slow log stream must not stall publishers on mutex_
    std::ostream* logger_ = nullptr;
    std::atomic<bool> logger_on_{false};  // logger_ is set: read without the lock
    log_level logger_min_level_ = log_level::debug;

    // Executor state.
    handler_slot post_slot_;  // memory for the one outstanding wake-up post
    asio::any_io_executor executor_;
    std::unique_ptr<asio::ip::tcp::resolver> resolver_;  // made for the first host name
    asio::ip::tcp::socket socket_;
    asio::steady_timer connect_timer_;
    asio::steady_timer session_timer_;  // the session's next deadline (keepalive, disconnect)
    asio::steady_timer reconnect_timer_;
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
    std::vector<std::uint8_t> read_buffer_;
    unsigned small_reads_ = 0;  // reads in a row that used little of the buffer
    bool reading_paused_ = false;  // async_receive's queue is full: the broker waits
    bool read_pending_ = false;
    bool writing_ = false;  // an async_write is under way
    std::size_t write_progress_bytes_ = 0;
    clock::time_point write_progress_at_{};  // when bytes last moved out
    std::size_t unsent_at_last_tick_ = 0;  // the kernel send queue at the last session timer
    std::vector<session::chunk> chunks_;
    std::vector<asio::const_buffer> write_buffers_;
    std::vector<protocol::byte_buffer> recycled_;  // done with, for buffers_ (in one batch)
    bool dispatching_ = false;
    bool pumping_ = false;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt

#if defined(MQTT_CLIENT_HEADER_ONLY)
#include <mqtt/detail/impl/engine_requests.ipp>
#include <mqtt/detail/impl/engine_connection.ipp>
#include <mqtt/detail/impl/engine_io.ipp>
#include <mqtt/detail/impl/engine_events.ipp>
#endif
