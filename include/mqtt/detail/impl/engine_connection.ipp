#pragma once

// The transport's life on the executor: connect attempts, failover,
// reconnect with backoff, and what a lost link means. The MQTT side of it
// (CONNACK, keepalive, the goodbye) is the session's.

#include <asio/connect.hpp>
#include <asio/ip/address.hpp>

namespace mqtt {
inline namespace v1 {
namespace detail {

// Asio's own system category does not compare equal to std::errc values;
// users get the standard category, so `ec == std::errc::connection_refused` holds.
inline std::error_code standard_error(std::error_code ec)
{
    if (ec.category() == asio::error::get_system_category()) return {ec.value(), std::system_category()};
    return ec;
}

inline bool is_connack_refusal(std::error_code ec)
{
    return ec.category() == error_category() && ec.value() >= static_cast<int>(errc::connection_refused_protocol_version) &&
           ec.value() <= static_cast<int>(errc::connection_refused_unknown_code);
}

MQTT_CLIENT_DECL void engine::start_connect()
{
    if (link_ != link_state::down) {
        // A new attempt replaces the current connection; no retry or failover for the old one.
        close_transport();
        std::lock_guard<std::mutex> lock(mutex_);
        session_.link_closed(make_error_code(errc::disconnected), clock::now());
    }
    reconnect_timer_.cancel();
    std::string host;
    std::uint16_t port;
    std::chrono::milliseconds timeout;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!session_.active()) return;
        attempt_current_ = attempt_started_;
        current_attempt_blocking_ = attempt_blocking_;
        connect_packet_.version = version_;
        connect_packet_.client_id = client_id_;
        connect_packet_.clean_session = clean_session_;
        connect_packet_.keepalive = keepalive_;
        connect_packet_.will = will_;
        connect_packet_.username = username_;
        connect_packet_.password = username_ ? password_ : std::nullopt;  // 3.1.1 has no password without user name
        if (std::exchange(servers_changed_, false)) {
            server_index_ = 0;
            servers_tried_ = 0;
        }
        const auto& sv = servers_[server_index_ % servers_.size()];
        host = sv.host;
        port = sv.port;
        timeout = connect_timeout_;
        decoder_.set_max_packet_size(max_packet_size_);
    }
    link_ = link_state::opening;
    log(log_level::debug,
        "connecting to " + host + ":" + std::to_string(port) + " as '" + connect_packet_.client_id + "'");
    const auto gen = ++gen_;
    decoder_.reset();
    connect_timer_.expires_after(timeout);
    connect_timer_.async_wait(timer_task{shared_from_this(), &engine::on_connect_timeout, gen});
    open_socket(gen, host, port);
}

// A numeric address connects at once; a host name goes through Asio's
// resolver, whose one background thread serves every client of the context.
MQTT_CLIENT_DECL void engine::open_socket(std::uint64_t gen, const std::string& host, std::uint16_t port)
{
    std::error_code not_numeric;
    const auto address = asio::ip::make_address(host, not_numeric);
    if (!not_numeric) {
        socket_.async_connect(asio::ip::tcp::endpoint(address, port),
                              [self = shared_from_this(), gen](std::error_code ec) { self->on_tcp_connected(ec, gen); });
        return;
    }
    if (!resolver_) resolver_ = std::make_unique<asio::ip::tcp::resolver>(executor_);
    resolver_->async_resolve(host, std::to_string(port),
                             [self = shared_from_this(), gen](std::error_code ec,
                                                              asio::ip::tcp::resolver::results_type results) {
                                 self->on_resolved(ec, std::move(results), gen);
                             });
}

MQTT_CLIENT_DECL void engine::on_resolved(std::error_code ec, asio::ip::tcp::resolver::results_type results,
                                          std::uint64_t gen)
{
    if (gen != gen_) return;
    if (ec) {
        link_down(ec);
        return pump();
    }
    asio::async_connect(socket_, results,
                        [self = shared_from_this(), gen](std::error_code cec, const asio::ip::tcp::endpoint&) {
                            self->on_tcp_connected(cec, gen);
                        });
}

MQTT_CLIENT_DECL void engine::on_tcp_connected(std::error_code ec, std::uint64_t gen)
{
    if (gen != gen_) return;
    if (ec) {
        link_down(ec);
        return pump();
    }
    std::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    link_ = link_state::open;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        session_.link_opened(connect_packet_, clock::now());  // CONNECT goes out first
    }
    start_read(gen);
    pump();
}

MQTT_CLIENT_DECL void engine::on_connect_timeout(std::uint64_t)
{
    bool waiting;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        waiting = link_ == link_state::opening || session_.state() == session::link_state::connecting;
    }
    if (!waiting) return;
    link_down(make_error_code(errc::connect_timeout));
    pump();
}

// The transport is gone: refused, timed out, lost, or closed as the session asked.
MQTT_CLIENT_DECL void engine::link_down(std::error_code ec)
{
    ec = standard_error(ec);
    if (link_ == link_state::down) return;
    const bool was_opening = link_ == link_state::opening;
    close_transport();
    session::link_state was;
    bool active;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        was = session_.state();
        session_.link_closed(ec, clock::now());
        active = session_.active();
    }
    if (was_opening || was == session::link_state::connecting) return fail_attempt(ec, !is_connack_refusal(ec));
    if (was == session::link_state::up && active) {
        // A connection that stayed up a while earns a fresh backoff; one that
        // the broker kicks at once (duplicate client id) keeps growing the delay.
        if (clock::now() - up_since_ >= std::chrono::seconds(10)) {
            std::lock_guard<std::mutex> lock(mutex_);
            backoff_.reset();
        }
        schedule_reconnect();
    }
    finish_attempt(make_error_code(errc::disconnected));  // disconnect() came before CONNACK
}

MQTT_CLIENT_DECL void engine::fail_attempt(std::error_code ec, bool report_connect_fail)
{
    std::size_t server_count;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        server_count = servers_.size();
    }
    server_index_ = (server_index_ + 1) % std::max<std::size_t>(server_count, 1);
    if (++servers_tried_ < server_count) {
        // Fail over: the same attempt goes on with the next broker in the list.
        if (report_connect_fail) events_.emplace_back(connect_failed{ec});
        log(log_level::warning, "connect failed: " + ec.message() + "; trying the next server");
        return start_connect();
    }
    servers_tried_ = 0;
    finish_attempt(ec);
    if (report_connect_fail) events_.emplace_back(connect_failed{ec});
    log(log_level::err, "connect failed: " + ec.message());
    bool retry;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        // A blocking connect() or an async_connect reports the failure
        // itself: nothing retries behind the caller's back. Without automatic
        // reconnect neither.
        retry = !current_attempt_blocking_ && session_.config().reconnect;
        if (!retry && session_.active()) {
            session_.end(ec);
            ended_by_ = ec;
        }
    }
    if (retry) schedule_reconnect();
}

MQTT_CLIENT_DECL void engine::finish_attempt(std::error_code ec)
{
    std::lock_guard<std::mutex> lock(mutex_);
    attempt_done(ec, false);
}

// Under mutex_: the attempt is over, CONNACK accepted (empty ec) or failed.
// Those waiting for it (a blocking connect, async_connect handlers) learn the outcome.
MQTT_CLIENT_DECL void engine::attempt_done(std::error_code ec, bool session_present)
{
    if (attempt_finished_ >= attempt_current_) return;
    attempt_finished_ = attempt_current_;
    attempt_result_ = ec;
    for (auto& op : connect_ops_) {
        op_result r;
        r.ec = ec;
        r.session_present = session_present;
        events_.emplace_back(op_done{std::move(op), std::move(r)});
    }
    connect_ops_.clear();
    state_cv_.notify_all();
}

MQTT_CLIENT_DECL void engine::schedule_reconnect()
{
    std::chrono::milliseconds delay;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!session_.accepts_requests() || !session_.config().reconnect) return;
        delay = backoff_.next();
    }
    log(log_level::info, "reconnecting in " + std::to_string(delay.count()) + " ms");
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait(timer_task{shared_from_this(), &engine::on_reconnect_due, gen_});
}

MQTT_CLIENT_DECL void engine::on_reconnect_due(std::uint64_t)
{
    if (link_ != link_state::down) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!session_.accepts_requests()) return;
        ++attempt_started_;
        attempt_blocking_ = false;
    }
    start_connect();
    pump();
}

// Posted by a connect() that waited in vain with no loop to run its timer.
MQTT_CLIENT_DECL void engine::give_up_connect(std::uint64_t attempt)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (attempt != attempt_current_ || attempt_finished_ >= attempt) return;  // a later attempt: not ours
    }
    link_down(make_error_code(errc::connect_timeout));
    pump();
}

// Posted by a disconnect() whose goodbye the loop did not finish in time.
MQTT_CLIENT_DECL void engine::force_close(std::uint64_t session_number)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (session_number != sessions_begun_ || !session_.active()) return;  // a later session: not ours
        session_.end(make_error_code(errc::disconnected));
        ended_by_ = make_error_code(errc::timeout);
    }
    close_transport();
    pump();
}

// Closes the socket and makes every handler of this connection stale.
MQTT_CLIENT_DECL void engine::close_transport()
{
    ++gen_;
    link_ = link_state::down;
    connected_.store(false, std::memory_order_release);
    std::error_code ignored;
    if (resolver_) resolver_->cancel();
    connect_timer_.cancel();
    session_timer_.cancel();
    session_timer_armed_ = false;
    read_pending_ = false;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
