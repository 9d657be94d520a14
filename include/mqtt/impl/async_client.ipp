#pragma once

#include <mqtt/protocol/topic_rules.hpp>

namespace mqtt {
inline namespace v1 {

MQTT_CLIENT_DECL async_client::async_client(const executor_type& ex, std::string client_id,
                                            std::optional<bool> clean_session, protocol_version protocol)
    : client_settings(
          std::make_shared<detail::engine>(ex, std::move(client_id), clean_session, protocol, "async_client"))
{
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->receive_enabled_ = true;
}

MQTT_CLIENT_DECL async_client::~async_client()
{
    engine_->shut_down(asio::error::operation_aborted);
}

MQTT_CLIENT_DECL void async_client::message_callback_add(std::string_view filter,
                                                         std::function<void(async_client&, const message&)> callback)
{
    if (auto ec = protocol::validate_topic_filter(filter))
        throw error(ec, "message_callback_add: invalid topic filter '" + std::string(filter) + "'");
    detail::message_router::handler bound;
    if (callback) bound = [this, fn = std::move(callback)](const message& m) { fn(*this, m); };
    engine_->router.add(std::string(filter), std::move(bound));
}

MQTT_CLIENT_DECL void async_client::max_receive_queue_set(std::size_t messages)
{
    if (messages < 1) throw error(errc::invalid_argument, "max_receive_queue_set: must be at least 1");
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    engine_->max_receive_queue_ = messages;
}

}  // namespace v1
}  // namespace mqtt
