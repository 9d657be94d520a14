#pragma once

// Completion state behind one mqtt::message_info, recycled through a pool:
// publish() takes one from its client's pool instead of allocating a
// shared_ptr per message. A message_info may outlive its client; the pool
// stays alive until the client and every delivery handle are gone.

#include <mqtt/error.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace detail {

// Which thread currently runs a client's message loop; a blocking wait on
// that thread could never be woken, so waits check it first.
struct loop_identity {
    std::atomic<std::thread::id> driver{};
    bool on_loop_thread() const noexcept { return driver.load(std::memory_order_acquire) == std::this_thread::get_id(); }
};

class delivery_pool;
class pending_op;

class delivery {
public:
    explicit delivery(delivery_pool& pool) noexcept : pool_(&pool) {}
    delivery(const delivery&) = delete;
    delivery& operator=(const delivery&) = delete;

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
            if (waiters_ == 0) return;  // nobody to wake: skip the notify
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
    std::error_code wait(std::chrono::duration<Rep, Period> timeout);

    // The async_publish waiting for this message, owned; taken under the
    // engine's lock by whoever completes or cancels it.
    pending_op* op = nullptr;

private:
    friend class delivery_pool;
    friend class delivery_ref;

    void reset() noexcept
    {
        mid_ = 0;
        done_ = false;
        done_flag_.store(false, std::memory_order_relaxed);
        rc_.clear();
    }

    delivery_pool* const pool_;
    std::atomic<std::size_t> refs_{0};
    int mid_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    int waiters_ = 0;
    bool done_ = false;
    std::atomic<bool> done_flag_{false};
    std::error_code rc_;
};

// A counted handle to a pooled delivery (what shared_ptr was, without the
// allocation): the last handle to go returns the delivery to its pool.
class delivery_ref {
public:
    delivery_ref() noexcept = default;
    explicit delivery_ref(delivery* d) noexcept : d_(d)
    {
        if (d_) d_->refs_.fetch_add(1, std::memory_order_relaxed);
    }
    delivery_ref(const delivery_ref& other) noexcept : delivery_ref(other.d_) {}
    delivery_ref(delivery_ref&& other) noexcept : d_(std::exchange(other.d_, nullptr)) {}
    delivery_ref& operator=(delivery_ref other) noexcept
    {
        std::swap(d_, other.d_);
        return *this;
    }
    ~delivery_ref() { reset(); }

    void reset() noexcept;
    delivery* operator->() const noexcept { return d_; }
    delivery& operator*() const noexcept { return *d_; }
    explicit operator bool() const noexcept { return d_ != nullptr; }

private:
    delivery* d_ = nullptr;
};

// One per client. Counted: one count for the client, one per delivery handed
// out; deleted when both are gone. Keeps a bounded number of idle deliveries.
class delivery_pool {
public:
    static constexpr std::size_t max_idle = 1024;

    // The pool of a new client; release() it when the client goes.
    static delivery_pool* create(std::shared_ptr<const loop_identity> loop) { return new delivery_pool(std::move(loop)); }

    delivery_ref acquire()
    {
        delivery* d = nullptr;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!idle_.empty()) {
                d = idle_.back();
                idle_.pop_back();
            }
        }
        if (!d) d = new delivery(*this);
        refs_.fetch_add(1, std::memory_order_relaxed);
        return delivery_ref(d);
    }

    const loop_identity& loop() const noexcept { return *loop_; }

    void release() noexcept
    {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

private:
    friend class delivery_ref;

    explicit delivery_pool(std::shared_ptr<const loop_identity> loop) : loop_(std::move(loop)) {}
    ~delivery_pool()
    {
        for (delivery* d : idle_) delete d;
    }

    void give_back(delivery* d) noexcept
    {
        d->reset();
        bool keep = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (idle_.size() < max_idle) {
                try {
                    idle_.push_back(d);
                    keep = true;
                } catch (...) {
                }
            }
        }
        if (!keep) delete d;
        release();  // may delete the pool: nothing of it is touched after this
    }

    const std::shared_ptr<const loop_identity> loop_;
    std::atomic<std::size_t> refs_{1};  // the client's
    std::mutex mutex_;
    std::vector<delivery*> idle_;
};

// The client's count on its pool, given up when the client goes.
class pool_owner {
public:
    explicit pool_owner(std::shared_ptr<const loop_identity> loop) : pool_(delivery_pool::create(std::move(loop))) {}
    ~pool_owner() { pool_->release(); }
    pool_owner(const pool_owner&) = delete;
    pool_owner& operator=(const pool_owner&) = delete;
    delivery_pool* operator->() const noexcept { return pool_; }

private:
    delivery_pool* const pool_;
};

inline void delivery_ref::reset() noexcept
{
    if (!d_) return;
    if (d_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) d_->pool_->give_back(d_);
    d_ = nullptr;
}

template <class Rep, class Period>
std::error_code delivery::wait(std::chrono::duration<Rep, Period> timeout)
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_) return rc_;
    if (pool_->loop().on_loop_thread()) return make_error_code(errc::would_deadlock);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    ++waiters_;
    const bool completed = cv_.wait_until(lock, deadline, [this] { return done_; });
    --waiters_;
    return completed ? rc_ : make_error_code(errc::timeout);
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
