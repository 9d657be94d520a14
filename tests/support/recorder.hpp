#pragma once

// What the client and fault tests share: values recorded from callbacks and
// waited for with a bound (a condition variable, never a bare sleep), and
// client ids unique across test processes running side by side.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mqtt_test {

// Long enough for a sanitizer build, short enough that a hang shows up as a
// failure rather than a stuck run.
constexpr std::chrono::milliseconds default_wait{10000};

// "<tag>-<pid>-<n>": unique within this process and across parallel runs;
// at most 23 characters (MQTT 3.1's limit) for a tag of at most 8.
inline std::string unique_id(std::string_view tag)
{
    static std::atomic<unsigned> counter{0};
    std::string id(tag.substr(0, 8));
    id += "-" + std::to_string(::getpid() % 100000) + "-" + std::to_string(counter.fetch_add(1));
    return id;
}

// Values pushed from any thread (callbacks), waited for from the test thread.
template <class T>
class recorder {
public:
    void push(T value)
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            items_.push_back(std::move(value));
        }
        cv_.notify_all();
    }

    // True once at least `count` values arrived; false after `timeout`.
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout = default_wait) const
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return items_.size() >= count; });
    }

    // True once pred(items) holds; false after `timeout`.
    template <class Pred>
    bool wait_until(Pred pred, std::chrono::milliseconds timeout = default_wait) const
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return pred(items_); });
    }

    std::vector<T> items() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return items_;
    }

    std::size_t size() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return items_.size();
    }

    T at(std::size_t i) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return items_.at(i);
    }

    void clear()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        items_.clear();
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<T> items_;
};

}  // namespace mqtt_test
