#pragma once

// The connection's life on the loop thread: connect, CONNACK, keepalive,
// loss and the clean goodbye.

namespace mqtt {
inline namespace v1 {
namespace detail {

inline errc connack_error(protocol::connack_code code)
{
    switch (code) {
    case protocol::connack_code::accepted: return errc::success;
    case protocol::connack_code::unacceptable_protocol_version: return errc::connection_refused_protocol_version;
    case protocol::connack_code::identifier_rejected: return errc::connection_refused_identifier_rejected;
    case protocol::connack_code::server_unavailable: return errc::connection_refused_server_unavailable;
    case protocol::connack_code::bad_username_password: return errc::connection_refused_bad_username_password;
    case protocol::connack_code::not_authorized: return errc::connection_refused_not_authorized;
    }
    return errc::connection_refused_unknown_code;
}

// Asio's own system category does not compare equal to std::errc values;
// users get the standard category, so `ec == std::errc::connection_refused` holds.
inline std::error_code standard_error(std::error_code ec)
{
    if (ec.category() == asio::error::get_system_category()) return {ec.value(), std::system_category()};
    return ec;
}

}  // namespace detail

// Everything public calls ask of the loop arrives here.
inline void client::on_wake()
{
    bool connect_now = false;
    bool disconnect_now = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connect_now = std::exchange(connect_requested_, false);
        disconnect_now = disconnect_requested_ && link_ != link_state::up;
    }
    if (connect_now) {
        start_connect();
    } else if (disconnect_now) {
        finish_disconnect({});
    }
    start_write();
    dispatch_events();
}

inline void client::start_connect()
{
    if (link_ != link_state::down) close_link();
    reconnect_timer_.cancel();
    protocol::connect packet;
    std::string host;
    std::uint16_t port;
    std::chrono::milliseconds timeout;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        attempt_current_ = attempt_started_;
        current_attempt_blocking_ = attempt_blocking_;
        packet.version = version_;
        packet.client_id = client_id_;
        packet.clean_session = clean_session_;
        packet.keepalive = keepalive_;
        packet.will = will_;
        packet.username = username_;
        packet.password = username_ ? password_ : std::nullopt;  // 3.1.1 has no password without user name
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
    if (packet.clean_session) held_qos2_.clear();  // a new session forgets half-received QoS 2
    link_ = link_state::opening;
    log(log_level::debug, "connecting to " + host + ":" + std::to_string(port) + " as '" + packet.client_id + "'");
    const auto gen = ++gen_;
    decoder_.reset();
    control_.clear();
    protocol::encode(packet, control_);

    connect_timer_.expires_after(timeout);
    connect_timer_.async_wait(timer_task{this, &client::on_connect_timeout, gen});
    resolver_.async_resolve(host, std::to_string(port),
                            [this, gen](std::error_code ec, asio::ip::tcp::resolver::results_type results) {
                                if (gen != gen_) return;
                                if (ec) {
                                    fail_attempt(ec, true);
                                    return dispatch_events();
                                }
                                asio::async_connect(socket_, results,
                                                    [this, gen](std::error_code cec, const asio::ip::tcp::endpoint&) {
                                                        if (gen != gen_) return;
                                                        if (cec) {
                                                            fail_attempt(cec, true);
                                                            return dispatch_events();
                                                        }
                                                        on_tcp_connected(gen);
                                                    });
                            });
}

inline void client::on_tcp_connected(std::uint64_t gen)
{
    std::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    link_ = link_state::connecting;
    start_read(gen);
    start_write();  // CONNECT waits in control_
}

inline void client::handle_connack(const protocol::connack& p)
{
    if (link_ != link_state::connecting) return connection_lost(make_error_code(errc::unexpected_packet));
    connect_timer_.cancel();
    const auto refused = detail::connack_error(p.return_code);
    if (refused != errc::success) {
        events_.emplace_back(connected_event{p.session_present, static_cast<int>(p.return_code)});
        log(log_level::err, "CONNACK refused the connection: " + make_error_code(refused).message());
        return fail_attempt(make_error_code(refused), false);
    }
    link_ = link_state::up;
    servers_tried_ = 0;
    connected_.store(true, std::memory_order_release);
    // Unacknowledged QoS 1/2 go out again: PUBLISH with DUP, or PUBREL.
    for (auto& entry : inflight_) {
        if (entry.released) {
            protocol::encode(protocol::pubrel{entry.packet_id}, control_);
        } else {
            entry.bytes[0] |= 0x08;
            entry.resend = true;
        }
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        attempt_finished_ = attempt_current_;
        attempt_result_ = {};
        state_cv_.notify_all();
    }
    log(log_level::debug, std::string("CONNACK received, session present: ") + (p.session_present ? "yes" : "no"));
    if (!p.session_present && std::exchange(ever_connected_, true)) resubscribe();
    events_.emplace_back(connected_event{p.session_present, 0});
    up_since_ = clock::now();
    last_read_ = up_since_;
    last_write_ = clock::now();
    ping_outstanding_ = false;
    arm_keepalive(gen_);
}

inline void client::fail_attempt(std::error_code ec, bool report_connect_fail)
{
    ec = detail::standard_error(ec);
    close_link();
    std::size_t server_count;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        server_count = servers_.size();
    }
    server_index_ = (server_index_ + 1) % std::max<std::size_t>(server_count, 1);
    if (++servers_tried_ < server_count) {
        // Fail over: the same attempt goes on with the next broker in the list.
        if (report_connect_fail) events_.emplace_back(connect_failed_event{ec});
        log(log_level::warning, "connect failed: " + ec.message() + "; trying the next server");
        return start_connect();
    }
    servers_tried_ = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        attempt_finished_ = attempt_current_;
        attempt_result_ = ec;
        state_cv_.notify_all();
    }
    if (report_connect_fail) events_.emplace_back(connect_failed_event{ec});
    log(log_level::err, "connect failed: " + ec.message());
    if (current_attempt_blocking_)
        end_session(ec);  // connect() reports it; nothing retries behind the caller's back
    else
        schedule_reconnect();
}

// Without a goodbye: a blocking connect() failed, or gave up waiting.
inline void client::end_session(std::error_code ec)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        disconnect_requested_ = true;  // no publish is queued while the queue is failed
    }
    close_link();
    fail_all(ec);
    held_qos2_.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    session_active_ = false;
    disconnect_requested_ = false;
    state_cv_.notify_all();
}

inline void client::schedule_reconnect()
{
    std::chrono::milliseconds delay;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!session_active_ || disconnect_requested_ || !reconnect_on_failure_) return;
        delay = backoff_.next();
    }
    log(log_level::info, "reconnecting in " + std::to_string(delay.count()) + " ms");
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait(timer_task{this, &client::on_reconnect_due, gen_});
}

inline void client::on_reconnect_due(std::uint64_t)
{
    if (link_ != link_state::down) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!session_active_ || disconnect_requested_) return;
        ++attempt_started_;
        attempt_blocking_ = false;
    }
    start_connect();
    dispatch_events();
}

inline void client::on_connect_timeout(std::uint64_t)
{
    if (link_ != link_state::opening && link_ != link_state::connecting) return;
    fail_attempt(make_error_code(errc::connect_timeout), true);
    dispatch_events();
}

inline void client::give_up_connect()
{
    end_session(make_error_code(errc::connect_timeout));
}

inline void client::force_disconnect()
{
    finish_disconnect(make_error_code(errc::timeout));
    dispatch_events();
}

// The broker kept no session: subscribe again to what this client subscribed.
inline void client::resubscribe()
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (!resubscribe_on_reconnect_ || subscriptions_.empty()) return;
    protocol::subscribe packet;
    for (const auto& [filter, qos] : subscriptions_)
        packet.subscriptions.push_back({filter, static_cast<std::uint8_t>(qos)});
    const auto id = ids_.allocate();
    if (!id) return;
    packet.packet_id = *id;
    awaiting_ack_[*id] = request_kind::resubscribe;
    protocol::encode(packet, control_);
}

// Closes the socket and makes every handler of this connection stale.
inline void client::close_link()
{
    ++gen_;
    link_ = link_state::down;
    connected_.store(false, std::memory_order_release);
    std::error_code ignored;
    resolver_.cancel();
    connect_timer_.cancel();
    keepalive_timer_.cancel();
    reconnect_timer_.cancel();
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    ping_outstanding_ = false;
    control_.clear();
    for (auto& entry : inflight_) entry.resend = false;
    // A SUBACK/UNSUBACK cannot come on a closed connection.
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& awaited : awaiting_ack_) ids_.release(awaited.first);
    awaiting_ack_.clear();
}

inline void client::connection_lost(std::error_code ec)
{
    ec = detail::standard_error(ec);
    if (link_ == link_state::down) return;
    if (link_ != link_state::up) return fail_attempt(ec, true);
    close_link();
    bool disconnecting;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        disconnecting = disconnect_requested_;
        state_cv_.notify_all();
    }
    if (disconnecting) return finish_disconnect(ec);
    log(log_level::err, "connection lost: " + ec.message());
    events_.emplace_back(disconnected_event{ec});
    // A connection that stayed up a while earns a fresh backoff; one that the
    // broker kicks at once (duplicate client id) keeps growing the delay.
    if (clock::now() - up_since_ >= std::chrono::seconds(10)) {
        std::lock_guard<std::mutex> lock(mutex_);
        backoff_.reset();
    }
    schedule_reconnect();
}

// The end of a session: after our DISCONNECT was written, or when
// disconnect() finds no connection to say goodbye on.
inline void client::finish_disconnect(std::error_code ec)
{
    if (link_ == link_state::opening || link_ == link_state::connecting) {
        std::lock_guard<std::mutex> lock(mutex_);
        attempt_finished_ = attempt_current_;
        attempt_result_ = make_error_code(errc::disconnected);
    }
    close_link();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!session_active_) return;
    }
    // disconnect_requested_ is set, so nothing new is queued while this fails the rest.
    fail_all(make_error_code(errc::disconnected));
    held_qos2_.clear();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        session_active_ = false;
        disconnect_requested_ = false;
        state_cv_.notify_all();
    }
    log(log_level::debug, ec ? "session ended: " + ec.message() : std::string("disconnected"));
    events_.emplace_back(disconnected_event{ec});
}

// Completes every message_info still open, so no wait_for_publish hangs.
inline void client::fail_all(std::error_code ec)
{
    session::ring_queue<queued_packet> pending;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pending.swap(pending_);
        pending_bytes_ = 0;
        for (const auto& p : pending) ids_.release(p.packet_id);
        for (const auto& p : write_requests_) ids_.release(p.packet_id);
        for (const auto& p : inflight_) ids_.release(p.packet_id);
    }
    for (auto& p : pending)
        if (p.delivery) p.delivery->complete(ec);
    for (auto& p : write_requests_)
        if (p.delivery) p.delivery->complete(ec);
    for (auto& p : inflight_) p.delivery->complete(ec);
    if (writing_) {
        // The aborted write still points at these bytes until its handler runs.
        for (auto& p : write_requests_) retired_.push_back(std::move(p.bytes));
        for (auto& p : inflight_) retired_.push_back(std::move(p.bytes));
    }
    write_requests_.clear();
    inflight_.clear();
}

inline void client::arm_keepalive(std::uint64_t gen)
{
    std::chrono::milliseconds keepalive;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        keepalive = std::chrono::seconds(keepalive_);
    }
    if (keepalive.count() == 0) return;
    const auto due = ping_outstanding_ ? ping_sent_ + keepalive / 2 : std::min(last_write_, last_read_) + keepalive;
    keepalive_timer_.expires_at(due);
    keepalive_timer_.async_wait(timer_task{this, &client::on_keepalive, gen});
}

// PINGREQ once keepalive passed without sending or without hearing from the
// broker; PINGRESP (or any packet) must follow within half a keepalive. So a
// silent, half-open connection is declared lost within 1.5 x keepalive.
inline void client::on_keepalive(std::uint64_t gen)
{
    if (link_ != link_state::up) return;
    std::chrono::milliseconds keepalive;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        keepalive = std::chrono::seconds(keepalive_);
    }
    const auto now = clock::now();
    if (ping_outstanding_ && now - ping_sent_ >= keepalive / 2) {
        connection_lost(make_error_code(errc::keepalive_timeout));
        dispatch_events();
        return;
    }
    if (!ping_outstanding_ && (now - last_write_ >= keepalive || now - last_read_ >= keepalive)) {
        protocol::encode(protocol::pingreq{}, control_);
        ping_outstanding_ = true;
        ping_sent_ = now;
        start_write();
    }
    arm_keepalive(gen);
}

}  // namespace v1
}  // namespace mqtt
