#pragma once

// A callback slot that can be assigned from any thread while the message loop
// calls it: `client.on_message = [](mqtt::client&, const mqtt::message&) {...};`

#include <functional>
#include <memory>
#include <mutex>
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
        std::lock_guard<std::mutex> lock(mutex_);
        fn_.swap(next);
        return *this;  // the old target is released outside the lock
    }

    callback& operator=(std::nullptr_t)
    {
        std::shared_ptr<const function_type> old;
        std::lock_guard<std::mutex> lock(mutex_);
        fn_.swap(old);
        return *this;
    }

    explicit operator bool() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return static_cast<bool>(fn_);
    }

    // The target as it is now; the caller invokes it with no lock held, so
    // the callback may reassign itself or call back into the client.
    std::shared_ptr<const function_type> get() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return fn_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const function_type> fn_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
