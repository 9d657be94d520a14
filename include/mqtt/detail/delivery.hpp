#pragma once

// Shared completion state behind one mqtt::message_info.

#include <mqtt/error.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

namespace mqtt {
inline namespace v1 {
namespace detail {

// Which thread currently runs a client's message loop; a blocking wait on
// that thread could never be woken, so waits check it first.
struct loop_identity {
    std::atomic<std::thread::id> driver{};
    bool on_loop_thread() const noexcept { return driver.load(std::memory_order_acquire) == std::this_thread::get_id(); }
};

class delivery {
public:
    explicit delivery(std::shared_ptr<const loop_identity> loop) : loop_(std::move(loop)) {}

    // Set once, before the delivery is shared with another thread.
    void set_mid(int mid) noexcept { mid_ = mid; }
    int mid() const noexcept { return mid_; }

    // Completes once; later calls are ignored so every path may try.
    void complete(std::error_code ec)
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (done_) return;
            done_ = true;
            rc_ = ec;
            // Under the lock: a wait that returned must find done() true.
            done_flag_.store(true, std::memory_order_release);
        }
        cv_.notify_all();
    }

    bool done() const noexcept { return done_flag_.load(std::memory_order_acquire); }

    std::error_code rc() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return rc_;
    }

    template <class Rep, class Period>
    std::error_code wait(std::chrono::duration<Rep, Period> timeout)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        if (done_) return rc_;
        if (loop_ && loop_->on_loop_thread()) return make_error_code(errc::would_deadlock);
        const auto deadline = std::chrono::steady_clock::now() +
                              std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
        if (!cv_.wait_until(lock, deadline, [this] { return done_; })) return make_error_code(errc::timeout);
        return rc_;
    }

private:
    int mid_ = 0;
    const std::shared_ptr<const loop_identity> loop_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::atomic<bool> done_flag_{false};
    std::error_code rc_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
