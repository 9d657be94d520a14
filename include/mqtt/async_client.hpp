#pragma once

// mqtt::async_client — the MQTT client on the caller's executor, with Asio
// completion tokens: plain callbacks, asio::use_future, asio::use_awaitable,
// deferred. It never starts a thread; thousands share one io_context.
//
//     asio::io_context io;
//     mqtt::async_client c(io, "sensor-1");
//     c.async_connect("127.0.0.1", 1883, 60, [&](std::error_code ec, bool) {
//         if (!ec) c.async_publish("house/bulbs/bulb1", "on", 1, false, [](std::error_code, int) {});
//     });
//     io.run();
//
// Thread safety: distinct objects are safe. Shared objects are safe too:
// every member function may be called from any thread, concurrently; the
// work runs on the executor. The client's own handlers and callbacks run on
// its executor one at a time, so an io_context run by several threads needs
// a strand as the client's executor (asio::make_strand(io)). An operation's
// handler runs on the handler's associated executor (by default the
// client's). Destroy the client on its executor, or while none of its
// callbacks runs: not concurrently with its own callbacks.
//
// Operations and what cancelling them (per-operation cancellation slots:
// asio::bind_cancellation_slot, parallel_group, coroutine cancellation) does:
//   async_connect     void(error_code, bool session_present): at CONNACK, or
//                     when every server failed (then the session ends, no
//                     retry). Cancelled: stops connecting, ends the session.
//   async_publish     void(error_code, int mid): at the QoS's acknowledgement
//                     point (QoS 0: written). Cancelled: a message still
//                     queued is withdrawn; one already sent completes its
//                     exchange in the background, the handler runs at once.
//   async_subscribe   void(error_code, std::vector<int> granted_qos): at
//                     SUBACK; errc::subscription_refused when a filter was
//                     refused (0x80 in granted_qos).
//   async_unsubscribe void(error_code): at UNSUBACK.
//   async_disconnect  void(error_code): once the goodbye is done (see
//                     client::disconnect; success when DISCONNECT was written).
//   async_receive     void(error_code, message): the next message no
//                     callback took. When the session ends with nothing
//                     queued: the session's end cause (errc::disconnected
//                     after async_disconnect). Cancelled: no message is lost.
//   Cancelling subscribe, unsubscribe or disconnect runs the handler with
//   operation_aborted at once; the request itself goes on.
// Invalid arguments complete with the precise error (errc::invalid_topic...);
// operations do not throw. Every handler runs exactly once; destroying the
// client completes the waiting ones with asio::error::operation_aborted.
//
// Received messages go to message_callback_add's filters, else on_message,
// else into a queue for async_receive (max_receive_queue_set, default 65536;
// when it is full the client stops reading from the socket until
// async_receive makes room: the broker waits, nothing is lost).

#include <mqtt/detail/async_op.hpp>
#include <mqtt/detail/arguments.hpp>
#include <mqtt/detail/client_settings.hpp>
#include <mqtt/detail/config.hpp>
#include <mqtt/detail/engine.hpp>
#include <mqtt/detail/face_callback.hpp>
#include <mqtt/error.hpp>
#include <mqtt/log_level.hpp>
#include <mqtt/message.hpp>
#include <mqtt/server.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqtt {
inline namespace v1 {

class async_client : public detail::client_settings {
public:
    using executor_type = asio::any_io_executor;

    explicit async_client(const executor_type& ex, std::string client_id = "",
                          std::optional<bool> clean_session = std::nullopt,
                          protocol_version protocol = protocol_version::mqtt311);
    explicit async_client(asio::io_context& io, std::string client_id = "",
                          std::optional<bool> clean_session = std::nullopt,
                          protocol_version protocol = protocol_version::mqtt311)
        : async_client(io.get_executor(), std::move(client_id), clean_session, protocol)
    {
    }
    // Closes abruptly (the broker publishes the will) and completes every
    // waiting handler with operation_aborted; never waits for the broker.
    ~async_client();

    executor_type get_executor() const noexcept { return engine_->executor(); }

    // Callbacks, assignable at any time from any thread, run on the executor.
    detail::face_callback<async_client, void(async_client&, bool session_present, int return_code)> on_connect{
        *this, engine_->on_connect};
    detail::face_callback<async_client, void(async_client&, std::error_code)> on_connect_fail{*this,
                                                                                               engine_->on_connect_fail};
    detail::face_callback<async_client, void(async_client&, std::error_code)> on_disconnect{*this,
                                                                                             engine_->on_disconnect};
    detail::face_callback<async_client, void(async_client&, const message&)> on_message{*this, engine_->on_message};
    detail::face_callback<async_client, void(async_client&, int mid)> on_publish{*this, engine_->on_publish};
    detail::face_callback<async_client, void(async_client&, int mid, const std::vector<int>& granted_qos)>
        on_subscribe{*this, engine_->on_subscribe};
    detail::face_callback<async_client, void(async_client&, int mid)> on_unsubscribe{*this, engine_->on_unsubscribe};
    detail::face_callback<async_client, void(async_client&, log_level, const std::string&)> on_log{*this,
                                                                                                    engine_->on_log};
    // Per-filter callbacks: each whose filter matches runs; on_message (then
    // async_receive) only when none did. Throws mqtt::error on a bad filter.
    void message_callback_add(std::string_view filter, std::function<void(async_client&, const message&)> callback);
    bool message_callback_remove(std::string_view filter) { return engine_->router.remove(filter); }

    // Messages held for async_receive before reading pauses (at least 1).
    void max_receive_queue_set(std::size_t messages);

    template <class Token>
    auto async_connect(const std::string& host, std::uint16_t port, int keepalive, Token&& token)
    {
        return async_connect(std::vector<server>{server{host, port}}, keepalive, std::forward<Token>(token));
    }

    // Several brokers, tried in turn until one accepts; later reconnects go
    // on from the last one that worked.
    template <class Token>
    auto async_connect(std::vector<server> servers, int keepalive, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code, bool)>(initiate_connect{engine_}, token,
                                                                         std::move(servers), keepalive);
    }

    template <class Token>
    auto async_publish(std::string_view topic, std::string_view payload, int qos, bool retain, Token&& token)
    {
        // Encoded now, so a deferred operation keeps no view of the caller's strings.
        auto invalid = detail::check_publish(topic, payload, qos).ec;
        protocol::byte_buffer bytes;
        if (!invalid) bytes = engine_->encode_publish(topic, payload, qos, retain);
        return asio::async_initiate<Token, void(std::error_code, int)>(initiate_publish{engine_}, token, invalid,
                                                                        std::move(bytes), qos);
    }

    template <class Token>
    auto async_subscribe(std::string_view filter, int qos, Token&& token)
    {
        return async_subscribe(std::vector<std::pair<std::string, int>>{{std::string(filter), qos}},
                               std::forward<Token>(token));
    }

    template <class Token>
    auto async_subscribe(std::vector<std::pair<std::string, int>> topics, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code, std::vector<int>)>(initiate_subscribe{engine_}, token,
                                                                                     std::move(topics));
    }

    template <class Token>
    auto async_unsubscribe(std::string_view filter, Token&& token)
    {
        return async_unsubscribe(std::vector<std::string>{std::string(filter)}, std::forward<Token>(token));
    }

    template <class Token>
    auto async_unsubscribe(std::vector<std::string> filters, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(initiate_unsubscribe{engine_}, token,
                                                                   std::move(filters));
    }

    template <class Token>
    auto async_disconnect(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(initiate_disconnect{engine_}, token);
    }

    template <class Token>
    auto async_receive(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code, message)>(initiate_receive{engine_}, token);
    }

private:
    using kind = detail::op_kind;

    // One initiation per operation: async_initiate calls it with the handler
    // (at once, or when a deferred or awaited operation starts).
    struct initiation_base {
        std::shared_ptr<detail::engine> engine;

        // Wraps the handler, and listens to its cancellation slot.
        template <kind Kind, class Handler>
        detail::op_ptr wrap(Handler&& handler) const
        {
            auto slot = asio::get_associated_cancellation_slot(handler);
            auto op = detail::make_op<Kind>(std::forward<Handler>(handler), *engine);
            if (slot.is_connected()) slot.template emplace<detail::op_canceller>(engine, op->id);
            return op;
        }
    };

    struct initiate_connect : initiation_base {
        template <class Handler>
        void operator()(Handler&& handler, std::vector<server> servers, int keepalive) const
        {
            auto op = wrap<kind::connect>(std::forward<Handler>(handler));
            if (auto invalid = detail::check_servers(servers, keepalive).ec)
                return detail::finish(std::move(op), {invalid}, true);
            if (engine->is_connected())
                return detail::finish(std::move(op), {make_error_code(errc::already_connected)}, true);
            engine->request_connect(std::move(servers), keepalive, true, std::move(op));
        }
    };

    struct initiate_publish : initiation_base {
        template <class Handler>
        void operator()(Handler&& handler, std::error_code invalid, protocol::byte_buffer bytes, int qos) const
        {
            auto slot = asio::get_associated_cancellation_slot(handler);
            auto op = detail::make_op<kind::publish>(std::forward<Handler>(handler), *engine);
            if (invalid) return detail::finish(std::move(op), {invalid}, true);
            detail::delivery_ref delivery;
            if (engine->publish(std::move(bytes), qos, delivery, std::move(op))) return;
            if (slot.is_connected()) slot.template emplace<detail::publish_canceller>(engine, std::move(delivery));
        }
    };

    struct initiate_subscribe : initiation_base {
        template <class Handler>
        void operator()(Handler&& handler, std::vector<std::pair<std::string, int>> topics) const
        {
            auto op = wrap<kind::subscribe>(std::forward<Handler>(handler));
            if (auto invalid = detail::check_subscribe(topics).ec) return detail::finish(std::move(op), {invalid}, true);
            engine->subscribe(topics, std::move(op));
        }
    };

    struct initiate_unsubscribe : initiation_base {
        template <class Handler>
        void operator()(Handler&& handler, std::vector<std::string> filters) const
        {
            auto op = wrap<kind::plain>(std::forward<Handler>(handler));
            if (auto invalid = detail::check_unsubscribe(filters).ec)
                return detail::finish(std::move(op), {invalid}, true);
            engine->unsubscribe(filters, std::move(op));
        }
    };

    struct initiate_disconnect : initiation_base {
        template <class Handler>
        void operator()(Handler&& handler) const
        {
            engine->disconnect(wrap<kind::plain>(std::forward<Handler>(handler)));
        }
    };

    struct initiate_receive : initiation_base {
        template <class Handler>
        void operator()(Handler&& handler) const
        {
            engine->receive(wrap<kind::receive>(std::forward<Handler>(handler)));
        }
    };
};

}  // namespace v1
}  // namespace mqtt

#if defined(MQTT_CLIENT_HEADER_ONLY)
#include <mqtt/impl/async_client.ipp>
#endif
