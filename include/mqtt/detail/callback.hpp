#pragma once

// A callback slot that can be assigned from any thread while the message loop
// calls it: `client.on_message = [](mqtt::client&, const mqtt::message&) {...};`

#include <mqtt/detail/shared_slot.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

namespace mqtt {
inline namespace v1 {
namespace detail {

template <class Signature>
class callback;

template <class R, class... Args>
class callback<R(Args...)> {
public:
    using function_type = std::function<R(Args...)>;

    callback() = default;
    callback(const callback&) = delete;
    callback& operator=(const callback&) = delete;

    template <class F>
    callback& operator=(F&& f)
    {
        auto next = std::make_shared<const function_type>(std::forward<F>(f));
        if (!*next) next.reset();
        slot_.exchange(std::move(next));  // the old target is released here, outside the lock
        return *this;
    }

    callback& operator=(std::nullptr_t)
    {
        slot_.exchange(nullptr);
        return *this;
    }

    explicit operator bool() const { return static_cast<bool>(slot_.load()); }

    // On the loop thread: the target to call, with no lock held, so that the
    // callback may reassign itself or call back into the client.
    const function_type* loop_target() const { return slot_.loop_view(); }

private:
    shared_slot<function_type> slot_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
