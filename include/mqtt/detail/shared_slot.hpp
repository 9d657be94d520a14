#pragma once

// A shared_ptr<const T> that any thread may replace while the message loop
// reads it. The loop keeps the value it last saw and refreshes it only after
// a replacement, so reading costs one atomic load: no lock and no reference
// count update per message.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace mqtt {
inline namespace v1 {
namespace detail {

template <class T>
class shared_slot {
public:
    // Returns the previous value, for the caller to release outside any lock.
    std::shared_ptr<const T> exchange(std::shared_ptr<const T> next)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        value_.swap(next);
        version_.fetch_add(1, std::memory_order_release);
        return next;
    }

    // The current value, from any thread.
    std::shared_ptr<const T> load() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return value_;
    }

    // For the thread running the message loop (one at a time; a hand-over of
    // the loop synchronizes through the client's mutex). The pointer stays
    // valid until this thread calls loop_view() again, so a callback may
    // replace the value it was called through. A replaced value is released
    // at the loop's next look.
    const T* loop_view() const
    {
        if (version_.load(std::memory_order_acquire) != seen_version_) {
            std::lock_guard<std::mutex> lock(mutex_);
            seen_ = value_;
            seen_version_ = version_.load(std::memory_order_relaxed);
        }
        return seen_.get();
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> value_;
    std::atomic<std::uint64_t> version_{0};
    mutable std::shared_ptr<const T> seen_;  // loop thread only
    mutable std::uint64_t seen_version_ = 0;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
