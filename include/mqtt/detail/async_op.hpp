#pragma once

// An async_client operation's handler behind detail::pending_op: it keeps the
// handler's executor busy (outstanding work) while it waits, completes on
// that executor, and listens to the handler's cancellation slot.

#include <mqtt/detail/engine.hpp>
#include <mqtt/detail/pending_op.hpp>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>

#include <memory>
#include <system_error>
#include <utility>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace detail {

// Which fields of op_result a completion signature takes.
enum class op_kind { connect, publish, subscribe, plain, receive };

template <op_kind Kind>
struct op_signature;
template <>
struct op_signature<op_kind::connect> {
    using type = void(std::error_code, bool);
};
template <>
struct op_signature<op_kind::publish> {
    using type = void(std::error_code, int);
};
template <>
struct op_signature<op_kind::subscribe> {
    using type = void(std::error_code, std::vector<int>);
};
template <>
struct op_signature<op_kind::plain> {
    using type = void(std::error_code);
};
template <>
struct op_signature<op_kind::receive> {
    using type = void(std::error_code, message);
};

template <op_kind Kind, class Handler>
void invoke_handler(Handler& handler, op_result& r)
{
    if constexpr (Kind == op_kind::connect)
        std::move(handler)(r.ec, r.session_present);
    else if constexpr (Kind == op_kind::publish)
        std::move(handler)(r.ec, r.mid);
    else if constexpr (Kind == op_kind::subscribe)
        std::move(handler)(r.ec, std::move(r.granted_qos));
    else if constexpr (Kind == op_kind::plain)
        std::move(handler)(r.ec);
    else
        std::move(handler)(r.ec, std::move(r.msg));
}

template <op_kind Kind, class Handler>
class async_op final : public pending_op {
public:
    using work_executor = std::decay_t<decltype(asio::prefer(
        std::declval<asio::associated_executor_t<Handler, asio::any_io_executor>>(),
        asio::execution::outstanding_work.tracked))>;

    async_op(Handler handler, const asio::any_io_executor& fallback)
        : handler_(std::move(handler)),
          work_(asio::prefer(asio::get_associated_executor(handler_, fallback),
                             asio::execution::outstanding_work.tracked))
    {
    }

    void complete(op_result r, bool defer) override
    {
        // Freed before the handler runs, so that it may start the next operation.
        auto call = [handler = std::move(handler_), r = std::move(r)]() mutable { invoke_handler<Kind>(handler, r); };
        auto work = std::move(work_);
        delete this;
        if (defer)
            asio::post(work, std::move(call));
        else
            asio::dispatch(work, std::move(call));
    }

private:
    Handler handler_;
    work_executor work_;
};

// Cancels the operation it names when the handler's slot is emitted.
struct op_canceller {
    op_canceller(const std::shared_ptr<engine>& e, std::uint64_t op_id) : owner(e), id(op_id) {}
    std::weak_ptr<engine> owner;
    std::uint64_t id;
    void operator()(asio::cancellation_type type) const
    {
        if (type == asio::cancellation_type::none) return;
        if (auto e = owner.lock()) e->cancel(id);
    }
};

struct publish_canceller {
    publish_canceller(const std::shared_ptr<engine>& e, delivery_ref d) : owner(e), delivery(std::move(d)) {}
    std::weak_ptr<engine> owner;
    delivery_ref delivery;
    void operator()(asio::cancellation_type type) const
    {
        if (type == asio::cancellation_type::none) return;
        if (auto e = owner.lock()) e->cancel_publish(delivery);
    }
};

// Wraps a handler as a pending operation of `e`, with a fresh id.
template <op_kind Kind, class Handler>
op_ptr make_op(Handler&& handler, engine& e)
{
    op_ptr op(new async_op<Kind, std::decay_t<Handler>>(std::forward<Handler>(handler), e.executor()));
    op->id = e.next_op_id();
    return op;
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
