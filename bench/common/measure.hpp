#pragma once

// Clocks and counters shared by every workload and client.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace bench {

using clock = std::chrono::steady_clock;

inline double seconds_between(clock::time_point from, clock::time_point to)
{
    return std::chrono::duration<double>(to - from).count();
}

// User + system CPU time of the whole process: both clients of a workload
// live in it, with all their threads; the broker is another process.
inline double process_cpu_seconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto as_seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return as_seconds(usage.ru_utime) + as_seconds(usage.ru_stime);
}

// Counts messages on the subscriber's thread and remembers when the last one
// came; the main thread waits for all of them, or gives up when they stop
// coming (a lost QoS 0 message must not hang the run).
class arrival_counter {
public:
    explicit arrival_counter(std::size_t expected) : expected_(expected) {}

    void add(std::size_t n = 1)
    {
        const std::size_t total = received_.fetch_add(n, std::memory_order_relaxed) + n;
        last_arrival_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
        if (total >= expected_) {
            std::lock_guard<std::mutex> lock(mutex_);
            all_arrived_ = true;
            cv_.notify_all();
        }
    }

    // Returns true when every expected message arrived.
    bool wait(clock::duration idle_timeout, clock::time_point deadline)
    {
        const auto wait_started = clock::now();
        std::unique_lock<std::mutex> lock(mutex_);
        while (!all_arrived_) {
            cv_.wait_for(lock, std::chrono::milliseconds(50));
            const auto now = clock::now();
            if (all_arrived_ || now >= deadline) break;
            if (now - std::max(wait_started, last_arrival()) >= idle_timeout) break;
        }
        return all_arrived_;
    }

    std::size_t received() const { return received_.load(std::memory_order_relaxed); }

    // clock::time_point{} while nothing arrived.
    clock::time_point last_arrival() const
    {
        return clock::time_point(clock::duration(last_arrival_.load(std::memory_order_relaxed)));
    }

private:
    const std::size_t expected_;
    std::atomic<std::size_t> received_{0};
    std::atomic<clock::rep> last_arrival_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool all_arrived_ = false;
};

// A one-shot event (CONNACK or SUBACK arrived) that a library callback sets
// and the main thread waits for with a timeout.
class one_shot {
public:
    void set(bool ok = true)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = true;
        ok_ = ok;
        cv_.notify_all();
    }

    // True when set(true) came within the timeout.
    bool wait_for(clock::duration timeout)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, timeout, [this] { return done_; });
        return done_ && ok_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    bool ok_ = false;
};

}  // namespace bench
