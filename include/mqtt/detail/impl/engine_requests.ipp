#pragma once

// What the faces ask of the engine, from any thread: queue it in the session
// under the lock and wake the executor. None of this touches the socket.

#include <mqtt/protocol/encoder.hpp>
#include <mqtt/detail/random.hpp>
#include <mqtt/protocol/utf8.hpp>

#include <new>
#include <ostream>

namespace mqtt {
inline namespace v1 {
namespace detail {

inline std::string random_client_id()
{
    static constexpr char hex[] = "0123456789abcdef";
    splitmix64 rng(entropy_seed());
    std::string id = "mqtt-cpp-";
    while (id.size() < 23) id += hex[rng.next() % 16];
    return id;
}

MQTT_CLIENT_DECL engine::engine(asio::any_io_executor ex, std::string client_id, std::optional<bool> clean_session,
                                protocol_version protocol, const char* face)
    : client_id_(std::move(client_id)),
      clean_session_(clean_session.value_or(true)),
      version_(protocol == protocol_version::mqtt31 ? protocol::protocol_version::v31
                                                    : protocol::protocol_version::v311),
      executor_(std::move(ex)),
      socket_(executor_),
      connect_timer_(executor_),
      session_timer_(executor_),
      reconnect_timer_(executor_)
{
    const std::string call = face;
    if (auto ec = protocol::validate_mqtt_string(client_id_)) throw error(ec, call + ": invalid client id");
    if (client_id_.empty()) {
        if (!clean_session_)
            throw error(errc::invalid_client_id, call + ": an empty client id needs clean_session = true");
        if (version_ == protocol::protocol_version::v31) client_id_ = random_client_id();
    }
    if (version_ == protocol::protocol_version::v31 && client_id_.size() > 23)
        throw error(errc::invalid_client_id, call + ": MQTT 3.1 client ids are at most 23 characters");
}

// Coalesces wake-ups: many publishes between two loop turns cost one post.
MQTT_CLIENT_DECL void engine::wake()
{
    if (!wake_posted_.exchange(true, std::memory_order_acq_rel)) post(&engine::on_wake_posted, 0);
}

MQTT_CLIENT_DECL void engine::post(void (engine::*fn)(std::uint64_t), std::uint64_t arg)
{
    asio::post(executor_, loop_task{shared_from_this(), fn, arg});
}

MQTT_CLIENT_DECL std::error_code engine::request_connect(std::vector<server> servers, int keepalive, bool blocking,
                                                         op_ptr op)
{
    std::unique_lock<std::mutex> lock(mutex_);
    std::error_code ec;
    if (shut_down_)
        ec = make_error_code(errc::shutdown);
    else if (session_.active() && !session_.accepts_requests())
        ec = make_error_code(errc::not_connected);  // disconnecting
    if (ec) {
        lock.unlock();
        finish(std::move(op), {ec}, true);
        return ec;
    }
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
    if (op) connect_ops_.push_back(std::move(op));
    lock.unlock();
    wake();
    return {};
}

MQTT_CLIENT_DECL protocol::byte_buffer engine::encode_publish(std::string_view topic, std::string_view payload,
                                                              int qos, bool retain)
{
    const std::size_t remaining = 2 + topic.size() + (qos > 0 ? 2 : 0) + payload.size();
    protocol::byte_buffer bytes = buffers_.take(1 + protocol::remaining_length_size(remaining) + remaining);
    // The packet id is written in when it is sent.
    protocol::encode_publish(topic, payload, static_cast<std::uint8_t>(qos), retain, false, qos > 0 ? 1 : 0, bytes);
    return bytes;
}

MQTT_CLIENT_DECL std::error_code engine::publish(protocol::byte_buffer bytes, int qos, delivery_ref& delivery,
                                                 op_ptr op)
{
    std::vector<delivery_ref> dropped;
    std::error_code ec;
    try {
        auto d = deliveries_->acquire();
        std::unique_lock<std::mutex> lock(mutex_);
        const auto r = session_.publish(std::move(bytes), static_cast<std::uint8_t>(qos), d, dropped);
        if (r.ec) {
            ec = r.ec;
        } else {
            d->set_mid(r.mid);  // under the lock: before the loop can see it
            d->op = op.release();
            lock.unlock();
            wake();
            delivery = std::move(d);
        }
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    // Messages dropped to make room complete outside the lock.
    for (auto& d : dropped) {
        d->complete(make_error_code(errc::queue_full));
        op_ptr dropped_op;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            dropped_op.reset(std::exchange(d->op, nullptr));
        }
        finish(std::move(dropped_op), {make_error_code(errc::queue_full), d->mid()}, true);
    }
    if (ec) finish(std::move(op), {ec}, true);
    return ec;
}

MQTT_CLIENT_DECL std::pair<std::error_code, int> engine::subscribe(
    const std::vector<std::pair<std::string, int>>& topics, op_ptr op)
{
    std::vector<protocol::subscription> list;
    list.reserve(topics.size());
    for (const auto& [filter, qos] : topics) list.push_back({filter, static_cast<std::uint8_t>(qos)});
    std::unique_lock<std::mutex> lock(mutex_);
    const auto r = session_.subscribe(std::move(list));
    if (!r.ec && op) subscribe_ops_.emplace_back(r.mid, std::move(op));
    lock.unlock();
    if (r.ec)
        finish(std::move(op), {r.ec}, true);
    else
        wake();
    return {r.ec, r.mid};
}

MQTT_CLIENT_DECL std::pair<std::error_code, int> engine::unsubscribe(const std::vector<std::string>& topics,
                                                                     op_ptr op)
{
    std::unique_lock<std::mutex> lock(mutex_);
    const auto r = session_.unsubscribe(topics);
    if (!r.ec && op) unsubscribe_ops_.emplace_back(r.mid, std::move(op));
    lock.unlock();
    if (r.ec)
        finish(std::move(op), {r.ec}, true);
    else
        wake();
    return {r.ec, r.mid};
}

MQTT_CLIENT_DECL std::error_code engine::disconnect(op_ptr op)
{
    std::unique_lock<std::mutex> lock(mutex_);
    const auto ec = session_.disconnect(clock::now());
    if (!ec && op) disconnect_ops_.push_back(std::move(op));
    lock.unlock();
    if (ec)
        finish(std::move(op), {ec}, true);
    else
        wake();
    return ec;
}

MQTT_CLIENT_DECL void engine::receive(op_ptr op)
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (shut_down_) {
        lock.unlock();
        return finish(std::move(op), {asio::error::operation_aborted}, true);
    }
    if (received_.empty()) {
        receive_ops_.push_back(std::move(op));
        return;
    }
    op_result r;
    r.msg = std::move(received_.front());
    received_.pop_front();
    // Reading waits for room; the executor resumes it.
    const bool resume = received_.size() + 1 == max_receive_queue_;
    lock.unlock();
    if (resume) wake();
    finish(std::move(op), std::move(r), true);
}

// Takes the operation with this id out of a list, if it is there.
template <class List, class Get>
op_ptr take_op(List& list, std::uint64_t id, Get get)
{
    for (auto it = list.begin(); it != list.end(); ++it) {
        op_ptr& op = get(*it);
        if (op && op->id == id) {
            op_ptr found = std::move(op);
            list.erase(it);
            return found;
        }
    }
    return nullptr;
}

MQTT_CLIENT_DECL void engine::cancel(std::uint64_t op_id)
{
    const auto self = [](op_ptr& op) -> op_ptr& { return op; };
    const auto second = [](std::pair<int, op_ptr>& p) -> op_ptr& { return p.second; };
    std::unique_lock<std::mutex> lock(mutex_);
    op_ptr op = take_op(receive_ops_, op_id, self);
    if (!op) op = take_op(subscribe_ops_, op_id, second);
    if (!op) op = take_op(unsubscribe_ops_, op_id, second);
    if (!op) op = take_op(disconnect_ops_, op_id, self);
    bool stop_connecting = false;
    if (!op) {
        op = take_op(connect_ops_, op_id, self);
        // Nobody waits for the attempt any more: stop it, and the session with it.
        stop_connecting = op && connect_ops_.empty() && attempt_finished_ < attempt_started_ && session_.active();
        if (stop_connecting) {
            session_.end(asio::error::operation_aborted);
            ended_by_ = asio::error::operation_aborted;
        }
    }
    lock.unlock();
    if (stop_connecting) wake();
    finish(std::move(op), {asio::error::operation_aborted}, true);
}

// A message still queued is withdrawn; one already sent finishes its exchange
// in the background, only its handler is released now.
MQTT_CLIENT_DECL void engine::cancel_publish(const delivery_ref& delivery)
{
    std::unique_lock<std::mutex> lock(mutex_);
    op_ptr op(std::exchange(delivery->op, nullptr));
    if (!op) return;  // completed already
    session_.withdraw(delivery->mid(), asio::error::operation_aborted);
    lock.unlock();
    wake();
    finish(std::move(op), {asio::error::operation_aborted, delivery->mid()}, true);
}

MQTT_CLIENT_DECL void engine::shut_down(std::error_code reason)
{
    on_connect = nullptr;
    on_connect_fail = nullptr;
    on_disconnect = nullptr;
    on_message = nullptr;
    on_publish = nullptr;
    on_subscribe = nullptr;
    on_unsubscribe = nullptr;
    on_log = nullptr;
    router.clear();
    disable_logger();
    std::vector<op_ptr> aborted;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        shut_down_ = true;
        session_.end(reason);
        ended_by_ = reason;
        session_type::event_type ev;
        while (session_.poll(ev)) {
            if (auto* done = std::get_if<session::published<delivery_ref>>(&ev)) {
                done->token->complete(done->ec);
                if (done->token->op) aborted.emplace_back(std::exchange(done->token->op, nullptr));
            }
        }
        for (auto& op : connect_ops_) aborted.push_back(std::move(op));
        for (auto& op : disconnect_ops_) aborted.push_back(std::move(op));
        for (auto& [mid, op] : subscribe_ops_) aborted.push_back(std::move(op));
        for (auto& [mid, op] : unsubscribe_ops_) aborted.push_back(std::move(op));
        for (auto& op : receive_ops_) aborted.push_back(std::move(op));
        connect_ops_.clear();
        disconnect_ops_.clear();
        subscribe_ops_.clear();
        unsubscribe_ops_.clear();
        receive_ops_.clear();
        received_.clear();
        state_cv_.notify_all();
    }
    connected_.store(false, std::memory_order_release);
    for (auto& op : aborted) finish(std::move(op), {asio::error::operation_aborted}, true);
    // The socket belongs to the executor: the loop closes it (abruptly, so the
    // broker publishes the will). An io_context destroyed unrun closes it too.
    wake();
}

MQTT_CLIENT_DECL void engine::enable_logger(std::ostream& out, log_level min_level)
{
    std::lock_guard<std::mutex> lock(logger_mutex_);
    logger_ = &out;
    logger_min_level_ = min_level;
    logger_on_.store(true, std::memory_order_relaxed);
}

MQTT_CLIENT_DECL void engine::disable_logger()
{
    std::lock_guard<std::mutex> lock(logger_mutex_);
    logger_ = nullptr;
    logger_on_.store(false, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
