#pragma once

// The handle publish() returns, as paho's MQTTMessageInfo.

#include <mqtt/detail/delivery.hpp>
#include <mqtt/error.hpp>

#include <chrono>
#include <memory>
#include <system_error>

namespace mqtt {
inline namespace v1 {

// Thread safety: all members may be called from any thread. Every
// message_info completes: acknowledged (rc() is success), or failed
// (queue full, disconnect, shutdown).
class message_info {
public:
    // A result that failed before anything was queued.
    message_info(int mid, std::error_code rc) : mid_(mid), rc_(rc) {}
    explicit message_info(detail::delivery_ref d) : mid_(d->mid()), delivery_(std::move(d)) {}

    int mid() const noexcept { return mid_; }

    // Success while pending or once published; the failure cause otherwise.
    std::error_code rc() const { return delivery_ ? delivery_->rc() : rc_; }

    // True once the message was written (QoS 0) or acknowledged (QoS 1/2).
    bool is_published() const { return delivery_ && delivery_->done() && !delivery_->rc(); }

    // Blocks until the message completes or the timeout passes. Returns
    // success, the failure cause, errc::timeout, or errc::would_deadlock at
    // once when called on the client's message-loop thread (in a callback).
    template <class Rep = long long, class Period = std::milli>
    std::error_code wait_for_publish(std::chrono::duration<Rep, Period> timeout = std::chrono::hours(24 * 365))
    {
        if (!delivery_) return rc_;
        return delivery_->wait(timeout);
    }

private:
    int mid_;
    std::error_code rc_;
    detail::delivery_ref delivery_;
};

}  // namespace v1
}  // namespace mqtt
