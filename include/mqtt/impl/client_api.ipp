#pragma once

// The public calls: validate, then queue for the loop and wake it. None of
// these touches socket or protocol state; that belongs to the loop thread.

#include <mqtt/protocol/topic_rules.hpp>
#include <mqtt/protocol/utf8.hpp>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>

namespace mqtt {
inline namespace v1 {
namespace detail {

inline void check_qos(int qos, const char* call)
{
    if (qos < 0 || qos > 2)
        throw error(errc::invalid_qos, std::string(call) + ": QoS " + std::to_string(qos) + " is not 0, 1 or 2");
}

inline void check(std::error_code ec, const char* call, std::string_view what)
{
    if (ec) throw error(ec, std::string(call) + ": " + std::string(what));
}

inline std::string random_client_id()
{
    static constexpr char hex[] = "0123456789abcdef";
    std::random_device rd;
    std::string id = "mqtt-cpp-";
    while (id.size() < 23) id += hex[rd() % 16];
    return id;
}

}  // namespace detail

inline client::client(std::string client_id, std::optional<bool> clean_session, protocol_version protocol)
    : client_id_(std::move(client_id)),
      clean_session_(clean_session.value_or(true)),
      version_(protocol == protocol_version::mqtt31 ? protocol::protocol_version::v31
                                                    : protocol::protocol_version::v311)
{
    detail::check(protocol::validate_mqtt_string(client_id_), "client", "invalid client id");
    if (client_id_.empty()) {
        if (!clean_session_)
            throw error(errc::invalid_client_id, "client: an empty client id needs clean_session = true");
        if (version_ == protocol::protocol_version::v31) client_id_ = detail::random_client_id();
    }
    if (version_ == protocol::protocol_version::v31 && client_id_.size() > 23)
        throw error(errc::invalid_client_id, "client: MQTT 3.1 client ids are at most 23 characters");
}

inline client::~client()
{
    if (loop_id_->on_loop_thread()) {
        // The loop thread would return into this destroyed object.
        std::fputs("mqtt::client destroyed inside its own callback: refused (destroy it from another thread,\n"
                   "or call loop_stop() in the callback and destroy it after loop_stop's thread ended)\n",
                   stderr);
        std::abort();
    }
    io_.stop();
    if (thread_.joinable()) thread_.join();
    // No loop runs now: this thread may touch loop state. Close abruptly, so
    // the broker publishes the will; disconnect() is the clean goodbye.
    std::error_code ignored;
    socket_.close(ignored);
    connected_.store(false);
    std::lock_guard<std::mutex> lock(mutex_);
    session_.end(make_error_code(errc::shutdown));
    session::machine<detail::delivery_ref>::event_type ev;
    while (session_.poll(ev))
        if (auto* done = std::get_if<session::published<detail::delivery_ref>>(&ev)) done->token->complete(done->ec);
}

inline void client::throw_connect_error(const std::vector<server>& servers, std::error_code ec)
{
    std::string where;
    for (const auto& sv : servers) where += (where.empty() ? "" : ", ") + sv.host + ":" + std::to_string(sv.port);
    throw error(ec, "connect to " + where + " failed");
}

inline std::error_code client::start_connect_request(std::vector<server> servers, int keepalive, bool blocking)
{
    if (servers.empty()) return make_error_code(errc::invalid_argument);
    for (const auto& sv : servers)
        if (sv.host.empty()) return make_error_code(errc::invalid_argument);
    if (keepalive < 0 || keepalive > 65535) return make_error_code(errc::invalid_argument);
    std::lock_guard<std::mutex> lock(mutex_);
    if (session_.active() && !session_.accepts_requests()) return make_error_code(errc::not_connected);  // disconnecting
    servers_ = std::move(servers);
    servers_changed_ = true;
    keepalive_ = static_cast<std::uint16_t>(keepalive);
    if (!session_.active()) {
        ++sessions_begun_;
        ended_by_.clear();
    }
    session_.begin();
    connect_requested_ = true;
    attempt_blocking_ = blocking;
    ++attempt_started_;
    return {};
}

inline std::error_code client::wait_for_connect(std::uint64_t attempt)
{
    if (loop_id_->on_loop_thread()) return {};  // in a callback: on_connect tells the outcome
    clock::duration bound;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        bound = connect_timeout_ * static_cast<int>(std::max<std::size_t>(servers_.size(), 1)) + std::chrono::seconds(2);
    }
    auto ec = run_until([&] { return attempt_finished_ >= attempt; }, clock::now() + bound);
    if (ec == errc::timeout) {
        // The loop's own timer did not fire in time (no loop ran): give up
        // this attempt, and only this one.
        asio::post(io_, loop_task{this, &client::give_up_connect, attempt});
        return make_error_code(errc::connect_timeout);
    }
    if (ec) return ec;
    std::lock_guard<std::mutex> lock(mutex_);
    return attempt_result_;
}

inline void client::connect(const std::string& host, std::uint16_t port, int keepalive)
{
    connect({server{host, port}}, keepalive);
}

inline void client::connect(const std::string& host, std::uint16_t port, int keepalive, std::error_code& ec)
{
    connect({server{host, port}}, keepalive, ec);
}

inline void client::connect(const std::vector<server>& servers, int keepalive)
{
    std::error_code ec;
    connect(servers, keepalive, ec);
    if (ec) throw_connect_error(servers, ec);
}

inline void client::connect(const std::vector<server>& servers, int keepalive, std::error_code& ec)
{
    if (is_connected()) {
        ec = make_error_code(errc::already_connected);
        return;
    }
    connect_and_wait(servers, keepalive, ec);
}

// A failed blocking attempt ends the session: the caller gets the error and
// nothing retries behind its back. Called from a callback, it cannot wait
// and behaves like connect_async.
inline void client::connect_and_wait(std::vector<server> servers, int keepalive, std::error_code& ec)
{
    const bool blocking = !loop_id_->on_loop_thread();
    ec = start_connect_request(std::move(servers), keepalive, blocking);
    if (ec) return;
    std::uint64_t attempt;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        attempt = attempt_started_;
    }
    wake();
    ec = wait_for_connect(attempt);
}

inline std::error_code client::connect_async(const std::string& host, std::uint16_t port, int keepalive)
{
    if (is_connected()) return make_error_code(errc::already_connected);
    auto ec = start_connect_request({server{host, port}}, keepalive, false);
    if (!ec) wake();
    return ec;
}

inline void client::reconnect(std::error_code& ec)
{
    std::vector<server> servers;
    int keepalive;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (servers_.empty()) {
            ec = make_error_code(errc::not_connected);  // nothing to reconnect to
            return;
        }
        servers = servers_;
        keepalive = keepalive_;
    }
    connect_and_wait(std::move(servers), keepalive, ec);
}

inline void client::reconnect()
{
    std::error_code ec;
    reconnect(ec);
    if (ec) {
        std::vector<server> servers;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            servers = servers_;
        }
        throw_connect_error(servers, ec);
    }
}

inline std::error_code client::disconnect()
{
    clock::duration bound;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto ec = session_.disconnect(clock::now())) return ec;
        bound = session_.config().disconnect_timeout + session::machine<detail::delivery_ref>::goodbye_grace +
                std::chrono::seconds(1);
    }
    wake();
    if (loop_id_->on_loop_thread()) return {};  // in a callback: on_disconnect follows
    // Until the loop took the session's last events: every message_info has completed.
    const auto settled = [&] { return !session_.active() && !session_.has_events(); };
    auto ec = run_until(settled, clock::now() + bound);
    if (!ec) {
        std::lock_guard<std::mutex> lock(mutex_);
        return ended_by_;  // empty once DISCONNECT was written
    }
    if (ec != errc::timeout) return ec;
    // The loop did not finish the goodbye (no loop ran it): close here.
    std::uint64_t number;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        number = sessions_begun_;
    }
    asio::post(io_, loop_task{this, &client::force_close, number});
    run_until(settled, clock::now() + std::chrono::seconds(1));
    return ec;
}

inline message_info client::publish(std::string_view topic, std::string_view payload, int qos, bool retain)
{
    detail::check_qos(qos, "publish");
    detail::check(protocol::validate_topic_name(topic), "publish", "invalid topic name");
    const std::size_t remaining = 2 + topic.size() + (qos > 0 ? 2 : 0) + payload.size();
    if (remaining > protocol::max_remaining_length)
        throw error(errc::payload_too_large, "publish: payload of " + std::to_string(payload.size()) + " bytes");

    // Encoded before taking the lock; the packet id is written in when it is sent.
    std::vector<detail::delivery_ref> dropped;
    message_info info(0, {});
    try {
        protocol::byte_buffer bytes = buffers_.take(1 + protocol::remaining_length_size(remaining) + remaining);
        protocol::encode_publish(topic, payload, static_cast<std::uint8_t>(qos), retain, false, qos > 0 ? 1 : 0,
                                 bytes);
        auto delivery = deliveries_->acquire();
        std::unique_lock<std::mutex> lock(mutex_);
        const auto r = session_.publish(std::move(bytes), static_cast<std::uint8_t>(qos), delivery, dropped);
        if (r.ec) {
            info = message_info(0, r.ec);
        } else {
            delivery->set_mid(r.mid);  // under the lock: before the loop can see it
            lock.unlock();
            wake();
            info = message_info(std::move(delivery));
        }
    } catch (const std::bad_alloc&) {
        info = message_info(0, std::make_error_code(std::errc::not_enough_memory));
    }
    // Messages dropped to make room complete outside the lock.
    for (auto& d : dropped) d->complete(make_error_code(errc::queue_full));
    return info;
}

inline std::pair<std::error_code, int> client::subscribe(std::string_view topic, int qos)
{
    return subscribe({{std::string(topic), qos}});
}

inline std::pair<std::error_code, int> client::subscribe(const std::vector<std::pair<std::string, int>>& topics)
{
    if (topics.empty()) throw error(errc::invalid_argument, "subscribe: no topic filter given");
    std::vector<protocol::subscription> list;
    std::size_t size = 2;
    for (const auto& [filter, qos] : topics) {
        detail::check_qos(qos, "subscribe");
        detail::check(protocol::validate_topic_filter(filter), "subscribe", "invalid topic filter '" + filter + "'");
        list.push_back({filter, static_cast<std::uint8_t>(qos)});
        size += 3 + filter.size();
    }
    if (size > protocol::max_remaining_length)
        throw error(errc::payload_too_large, "subscribe: too many topic filters for one packet");
    std::unique_lock<std::mutex> lock(mutex_);
    const auto r = session_.subscribe(std::move(list));
    lock.unlock();
    if (!r.ec) wake();
    return {r.ec, r.mid};
}

inline std::pair<std::error_code, int> client::unsubscribe(std::string_view topic)
{
    return unsubscribe(std::vector<std::string>{std::string(topic)});
}

inline std::pair<std::error_code, int> client::unsubscribe(const std::vector<std::string>& topics)
{
    if (topics.empty()) throw error(errc::invalid_argument, "unsubscribe: no topic filter given");
    std::size_t size = 2;
    for (const auto& filter : topics) {
        detail::check(protocol::validate_topic_filter(filter), "unsubscribe", "invalid topic filter '" + filter + "'");
        size += 2 + filter.size();
    }
    if (size > protocol::max_remaining_length)
        throw error(errc::payload_too_large, "unsubscribe: too many topic filters for one packet");
    std::unique_lock<std::mutex> lock(mutex_);
    const auto r = session_.unsubscribe(topics);
    lock.unlock();
    if (!r.ec) wake();
    return {r.ec, r.mid};
}

inline void client::username_pw_set(std::string username, std::optional<std::string> password)
{
    detail::check(protocol::validate_mqtt_string(username), "username_pw_set", "invalid user name");
    if (password && password->size() > 65535)
        throw error(errc::string_too_long, "username_pw_set: password longer than 65535 bytes");
    std::lock_guard<std::mutex> lock(mutex_);
    username_ = std::move(username);
    password_ = std::move(password);
}

inline void client::will_set(std::string_view topic, std::string_view payload, int qos, bool retain)
{
    detail::check_qos(qos, "will_set");
    detail::check(protocol::validate_topic_name(topic), "will_set", "invalid topic name");
    if (payload.size() > 65535) throw error(errc::payload_too_large, "will_set: will payload longer than 65535 bytes");
    std::lock_guard<std::mutex> lock(mutex_);
    will_ = protocol::will{std::string(topic), std::string(payload), static_cast<std::uint8_t>(qos), retain};
}

inline void client::will_clear()
{
    std::lock_guard<std::mutex> lock(mutex_);
    will_.reset();
}

inline void client::max_inflight_messages_set(int inflight)
{
    if (inflight < 1 || inflight > 65535)
        throw error(errc::invalid_argument, "max_inflight_messages_set: must be 1..65535");
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().max_inflight = static_cast<std::size_t>(inflight);
}

inline void client::max_queued_messages_set(std::size_t queue_size)
{
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().max_queued = queue_size;
}

inline void client::max_queued_bytes_set(std::size_t bytes)
{
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().max_queued_bytes = bytes;
}

inline void client::queue_policy_set(queue_policy policy)
{
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().policy = policy;
}

inline void client::reconnect_delay_set(std::chrono::milliseconds min_delay, std::chrono::milliseconds max_delay)
{
    if (min_delay.count() <= 0 || max_delay < min_delay)
        throw error(errc::invalid_argument, "reconnect_delay_set: need 0 < min_delay <= max_delay");
    std::lock_guard<std::mutex> lock(mutex_);
    backoff_.set_bounds(min_delay, max_delay);
}

inline void client::reconnect_on_failure_set(bool enabled)
{
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().reconnect = enabled;
}

inline void client::reconnect_jitter_seed(std::uint32_t seed)
{
    std::lock_guard<std::mutex> lock(mutex_);
    backoff_.seed(seed);
}

inline void client::resubscribe_on_reconnect_set(bool enabled)
{
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().resubscribe = enabled;
}

inline void client::max_inbound_qos2_set(std::size_t count)
{
    if (count < 1 || count > 65535) throw error(errc::invalid_argument, "max_inbound_qos2_set: must be 1..65535");
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().max_inbound_qos2 = count;
}

inline void client::connect_timeout_set(std::chrono::milliseconds timeout)
{
    if (timeout.count() <= 0) throw error(errc::invalid_argument, "connect_timeout_set: must be positive");
    std::lock_guard<std::mutex> lock(mutex_);
    connect_timeout_ = timeout;
}

inline void client::disconnect_timeout_set(std::chrono::milliseconds timeout)
{
    if (timeout.count() <= 0) throw error(errc::invalid_argument, "disconnect_timeout_set: must be positive");
    std::lock_guard<std::mutex> lock(mutex_);
    session_.config().disconnect_timeout = timeout;
}

inline void client::max_packet_size_set(std::size_t bytes)
{
    if (bytes < 2) throw error(errc::invalid_argument, "max_packet_size_set: must be at least 2 bytes");
    std::lock_guard<std::mutex> lock(mutex_);
    max_packet_size_ = bytes;
}

inline void client::user_data_set(std::any data)
{
    std::lock_guard<std::mutex> lock(mutex_);
    user_data_ = std::move(data);
}

inline std::any client::user_data() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return user_data_;
}

inline std::size_t client::queued_messages() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return session_.queued();
}

}  // namespace v1
}  // namespace mqtt
