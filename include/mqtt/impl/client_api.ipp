#pragma once

// The paho calls: check the arguments, hand the request to the engine, and
// (for the blocking ones) wait, running the loop when no thread does.

#include <mqtt/protocol/topic_rules.hpp>

#include <cstdio>
#include <cstdlib>

namespace mqtt {
inline namespace v1 {

MQTT_CLIENT_DECL client::client(std::string client_id, std::optional<bool> clean_session, protocol_version protocol)
    : client_settings(
          std::make_shared<detail::engine>(io_.get_executor(), std::move(client_id), clean_session, protocol, "client"))
{
    engine_->owned_io_ = &io_;
}

MQTT_CLIENT_DECL client::~client()
{
    if (on_loop_thread()) {
        // The loop thread would return into this destroyed object.
        std::fputs("mqtt::client destroyed inside its own callback: refused (destroy it from another thread,\n"
                   "or call loop_stop() in the callback and destroy it after loop_stop's thread ended)\n",
                   stderr);
        std::abort();
    }
    io_.stop();
    if (thread_.joinable()) thread_.join();
    // No loop runs now. What is pending fails with shutdown; the socket closes
    // abruptly with the io_context (the broker publishes the will);
    // disconnect() is the clean goodbye.
    engine_->shut_down(make_error_code(errc::shutdown));
}

MQTT_CLIENT_DECL void client::throw_connect_error(const std::vector<server>& servers, std::error_code ec)
{
    std::string where;
    for (const auto& sv : servers) where += (where.empty() ? "" : ", ") + sv.host + ":" + std::to_string(sv.port);
    throw error(ec, "connect to " + where + " failed");
}

MQTT_CLIENT_DECL std::error_code client::start_connect_request(std::vector<server> servers, int keepalive,
                                                               bool blocking)
{
    if (auto e = detail::check_servers(servers, keepalive)) return e.ec;
    return engine_->request_connect(std::move(servers), keepalive, blocking, nullptr);
}

MQTT_CLIENT_DECL std::error_code client::wait_for_connect(std::uint64_t attempt)
{
    if (on_loop_thread()) return {};  // in a callback: on_connect tells the outcome
    clock::duration bound;
    {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        bound = engine_->connect_timeout_ * static_cast<int>(std::max<std::size_t>(engine_->servers_.size(), 1)) +
                std::chrono::seconds(2);
    }
    auto ec = run_until([&] { return engine_->attempt_finished_ >= attempt; }, clock::now() + bound);
    if (ec == errc::timeout) {
        // The loop's own timer did not fire in time (no loop ran): give up
        // this attempt, and only this one.
        engine_->post(&detail::engine::give_up_connect, attempt);
        return make_error_code(errc::connect_timeout);
    }
    if (ec) return ec;
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    return engine_->attempt_result_;
}

MQTT_CLIENT_DECL void client::connect(const std::string& host, std::uint16_t port, int keepalive)
{
    connect({server{host, port}}, keepalive);
}

MQTT_CLIENT_DECL void client::connect(const std::string& host, std::uint16_t port, int keepalive,
                                      std::error_code& ec)
{
    connect({server{host, port}}, keepalive, ec);
}

MQTT_CLIENT_DECL void client::connect(const std::vector<server>& servers, int keepalive)
{
    std::error_code ec;
    connect(servers, keepalive, ec);
    if (ec) throw_connect_error(servers, ec);
}

MQTT_CLIENT_DECL void client::connect(const std::vector<server>& servers, int keepalive, std::error_code& ec)
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
MQTT_CLIENT_DECL void client::connect_and_wait(std::vector<server> servers, int keepalive, std::error_code& ec)
{
    ec = start_connect_request(std::move(servers), keepalive, !on_loop_thread());
    if (ec) return;
    std::uint64_t attempt;
    {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        attempt = engine_->attempt_started_;
    }
    ec = wait_for_connect(attempt);
}

MQTT_CLIENT_DECL std::error_code client::connect_async(const std::string& host, std::uint16_t port, int keepalive)
{
    if (is_connected()) return make_error_code(errc::already_connected);
    return start_connect_request({server{host, port}}, keepalive, false);
}

MQTT_CLIENT_DECL void client::reconnect(std::error_code& ec)
{
    std::vector<server> servers;
    int keepalive;
    {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        if (engine_->servers_.empty()) {
            ec = make_error_code(errc::not_connected);  // nothing to reconnect to
            return;
        }
        servers = engine_->servers_;
        keepalive = engine_->keepalive_;
    }
    connect_and_wait(std::move(servers), keepalive, ec);
}

MQTT_CLIENT_DECL void client::reconnect()
{
    std::error_code ec;
    reconnect(ec);
    if (ec) {
        std::vector<server> servers;
        {
            std::lock_guard<std::mutex> lock(engine_->mutex_);
            servers = engine_->servers_;
        }
        throw_connect_error(servers, ec);
    }
}

MQTT_CLIENT_DECL std::error_code client::disconnect()
{
    if (auto ec = engine_->disconnect(nullptr)) return ec;
    if (on_loop_thread()) return {};  // in a callback: on_disconnect follows
    clock::duration bound;
    {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        bound = engine_->session_.config().disconnect_timeout + detail::engine::session_type::goodbye_grace +
                std::chrono::seconds(1);
    }
    // Until the loop took the session's last events: every message_info has completed.
    const auto settled = [&] { return !engine_->session_.active() && !engine_->session_.has_events(); };
    auto ec = run_until(settled, clock::now() + bound);
    if (!ec) {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        return engine_->ended_by_;  // empty once DISCONNECT was written
    }
    if (ec != errc::timeout) return ec;
    // The loop did not finish the goodbye (no loop ran it): close here.
    std::uint64_t number;
    {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        number = engine_->sessions_begun_;
    }
    engine_->post(&detail::engine::force_close, number);
    run_until(settled, clock::now() + std::chrono::seconds(1));
    return ec;
}

MQTT_CLIENT_DECL message_info client::publish(std::string_view topic, std::string_view payload, int qos, bool retain)
{
    if (auto e = detail::check_publish(topic, payload, qos)) throw error(e.ec, e.what);
    detail::delivery_ref delivery;
    std::error_code ec;
    try {
        ec = engine_->publish(engine_->encode_publish(topic, payload, qos, retain), qos, delivery, nullptr);
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    if (ec) return message_info(0, ec);
    return message_info(std::move(delivery));
}

MQTT_CLIENT_DECL std::pair<std::error_code, int> client::subscribe(std::string_view topic, int qos)
{
    return subscribe({{std::string(topic), qos}});
}

MQTT_CLIENT_DECL std::pair<std::error_code, int> client::subscribe(
    const std::vector<std::pair<std::string, int>>& topics)
{
    if (auto e = detail::check_subscribe(topics)) throw error(e.ec, e.what);
    return engine_->subscribe(topics, nullptr);
}

MQTT_CLIENT_DECL std::pair<std::error_code, int> client::unsubscribe(std::string_view topic)
{
    return unsubscribe(std::vector<std::string>{std::string(topic)});
}

MQTT_CLIENT_DECL std::pair<std::error_code, int> client::unsubscribe(const std::vector<std::string>& topics)
{
    if (auto e = detail::check_unsubscribe(topics)) throw error(e.ec, e.what);
    return engine_->unsubscribe(topics, nullptr);
}

MQTT_CLIENT_DECL void client::message_callback_add(std::string_view filter,
                                                   std::function<void(client&, const message&)> callback)
{
    if (auto ec = protocol::validate_topic_filter(filter))
        throw error(ec, "message_callback_add: invalid topic filter '" + std::string(filter) + "'");
    detail::message_router::handler bound;
    if (callback) bound = [this, fn = std::move(callback)](const message& m) { fn(*this, m); };
    engine_->router.add(std::string(filter), std::move(bound));
}

MQTT_CLIENT_DECL bool client::message_callback_remove(std::string_view filter)
{
    return engine_->router.remove(filter);
}

MQTT_CLIENT_DECL void client::user_data_set(std::any data)
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    user_data_ = std::move(data);
}

MQTT_CLIENT_DECL std::any client::user_data() const
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    return user_data_;
}

}  // namespace v1
}  // namespace mqtt
