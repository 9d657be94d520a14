#pragma once

// Shared by the tests/faults/*_test.cpp files: thread-safe recorders (every
// wait bounded, built on a condition variable), unique ids and topics, a
// counter of numbered messages (duplicates, gaps), and the broker options the
// fault tests use.

#include <mqtt/client.hpp>

#include "support/broker.hpp"
#include "support/catch.hpp"
#include "support/recorder.hpp"
#include "support/fault_proxy.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace fault_test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// The bound for ordinary waits: long enough for a sanitizer build, short
// enough that a hang shows up as a failure.
constexpr ms wait_timeout{10000};
// The bound for a whole stream (10 000 messages with faults), generous for TSan.
constexpr ms stream_timeout{180000};

inline double seconds(steady::duration d)
{
    return std::chrono::duration<double>(d).count();
}

inline long long millis(steady::duration d)
{
    return std::chrono::duration_cast<ms>(d).count();
}

using mqtt_test::recorder;
using mqtt_test::unique_id;


inline std::string unique_topic(std::string_view tag)
{
    return "faults/" + unique_id(tag);
}

// The payload delivery_counter reads as `index`, zero-padded to `size` bytes.
inline std::string numbered_payload(std::size_t index, std::size_t size)
{
    std::string digits = std::to_string(index);
    if (digits.size() < size) digits.insert(0, size - digits.size(), '0');
    return digits;
}

// Mosquitto with persistence (the fixture's default) and no per-client queue
// limit: by default Mosquitto drops QoS 1/2 messages beyond 1000 queued for a
// client, which would be the broker losing messages, not the client.
inline mqtt_test::broker_options fault_broker_options(std::vector<std::string> extra = {})
{
    mqtt_test::broker_options options;
    options.persistence = true;
    options.extra_config = {"max_queued_messages 0"};
    options.extra_config.insert(options.extra_config.end(), extra.begin(), extra.end());
    return options;
}


template <class T>
struct timed {
    steady::time_point at;
    T value;
};

// Callbacks of one client, with the time each ran. Declare before the
// client (the client must be destroyed first).
struct client_events {
    recorder<timed<bool>> connects;  // session_present
    recorder<timed<std::error_code>> connect_fails;
    recorder<timed<std::error_code>> disconnects;
    recorder<int> subacks;

    void attach(mqtt::client& c)
    {
        c.on_connect = [this](mqtt::client&, bool session_present, int rc) {
            if (rc == 0) connects.push({steady::now(), session_present});
        };
        c.on_connect_fail = [this](mqtt::client&, std::error_code ec) { connect_fails.push({steady::now(), ec}); };
        c.on_disconnect = [this](mqtt::client&, std::error_code ec) { disconnects.push({steady::now(), ec}); };
        c.on_subscribe = [this](mqtt::client&, int mid, const std::vector<int>&) { subacks.push(mid); };
    }

    bool wait_for_suback(int mid, ms timeout = wait_timeout) const
    {
        const auto deadline = steady::now() + timeout;
        for (std::size_t seen = 0;; ++seen) {
            const auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
            if (left.count() <= 0 || !subacks.wait_for(seen + 1, left)) return false;
            const auto mids = subacks.items();
            if (std::find(mids.begin(), mids.end(), mid) != mids.end()) return true;
            seen = mids.size() - 1;
        }
    }
};

// Counts numbered messages (payload = decimal index in [0, n), leading zeros
// allowed, so that a payload can have any size): how many distinct ones
// arrived, how many more than once, which are missing.
class delivery_counter {
public:
    explicit delivery_counter(std::size_t n) : counts_(n, 0), first_(n) {}

    void record(const mqtt::message& m)
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++received_;
            if (m.dup) ++dup_flagged_;
            std::size_t index = 0;
            bool numeric = !m.payload.empty();
            for (char ch : m.payload) {
                if (ch < '0' || ch > '9' || index > counts_.size()) {
                    numeric = false;
                    break;
                }
                index = index * 10 + static_cast<std::size_t>(ch - '0');
            }
            if (!numeric || index >= counts_.size()) {
                ++unexpected_;
            } else if (counts_[index]++ == 0) {
                ++distinct_;
                first_[index] = {m.mid, m.dup};
            } else {
                ++duplicates_;
                copies_.push_back({index, m.mid, m.dup});
            }
        }
        cv_.notify_all();
    }

    std::function<void(mqtt::client&, const mqtt::message&)> handler()
    {
        return [this](mqtt::client&, const mqtt::message& m) { record(m); };
    }

    // True once every index arrived at least once; false after `timeout`.
    bool wait_all(ms timeout) const
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return distinct_ == counts_.size(); });
    }

    // True once `count` messages (duplicates included) arrived.
    bool wait_received(std::size_t count, ms timeout) const
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return received_ >= count; });
    }

    std::size_t distinct() const { return locked([&] { return distinct_; }); }
    std::size_t duplicates() const { return locked([&] { return duplicates_; }); }
    std::size_t received() const { return locked([&] { return received_; }); }
    std::size_t unexpected() const { return locked([&] { return unexpected_; }); }
    std::size_t dup_flagged() const { return locked([&] { return dup_flagged_; }); }
    std::size_t max_count() const
    {
        return locked([&] {
            return counts_.empty() ? std::size_t{0} : std::size_t{*std::max_element(counts_.begin(), counts_.end())};
        });
    }
    std::size_t count_of(std::size_t index) const { return locked([&] { return std::size_t{counts_.at(index)}; }); }

    // "17, 18, 40, ..." (at most `limit`), for failure messages.
    std::string missing(std::size_t limit = 20) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        std::ostringstream out;
        std::size_t shown = 0, total = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            if (counts_[i] != 0) continue;
            ++total;
            if (shown < limit) out << (shown++ ? ", " : "") << i;
        }
        if (total > shown) out << ", ... (" << total << " missing)";
        return out.str();
    }

    // "index 17 (mid 5, then mid 5 DUP), ...": the first `limit` extra
    // copies, with the packet ids they came with, for failure messages.
    std::string duplicated(std::size_t limit = 20) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        std::ostringstream out;
        for (std::size_t i = 0; i < copies_.size() && i < limit; ++i) {
            const auto& c = copies_[i];
            const auto& f = first_[c.index];
            out << (i ? ", " : "") << "index " << c.index << " (mid " << f.mid << (f.dup ? " DUP" : "")
                << ", then mid " << c.mid << (c.dup ? " DUP" : "") << ")";
        }
        return out.str();
    }

    // Extra copies per packet id they arrived with.
    std::map<int, std::size_t> duplicate_mids() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        std::map<int, std::size_t> out;
        for (const auto& c : copies_) ++out[c.mid];
        return out;
    }

private:
    struct arrival {
        int mid = 0;
        bool dup = false;
    };
    struct copy {
        std::size_t index;
        int mid;
        bool dup;
    };

    template <class F>
    std::size_t locked(F f) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return f();
    }

    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<unsigned> counts_;
    std::vector<arrival> first_;
    std::vector<copy> copies_;
    std::size_t distinct_ = 0;
    std::size_t duplicates_ = 0;
    std::size_t received_ = 0;
    std::size_t unexpected_ = 0;
    std::size_t dup_flagged_ = 0;
};

// Waits until pred() holds, polling every 5 ms; false after `timeout`. For
// state only observable by polling (client.is_connected(), proxy counters).
template <class Pred>
bool poll_until(Pred pred, ms timeout = wait_timeout)
{
    const auto deadline = steady::now() + timeout;
    while (!pred()) {
        if (steady::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// Waits for every message_info (bounded by one deadline for all); returns how
// many did not complete with success, and the first failure cause.
inline std::pair<std::size_t, std::error_code> wait_all_published(std::vector<mqtt::message_info>& infos,
                                                                  ms timeout)
{
    const auto deadline = steady::now() + timeout;
    std::size_t failed = 0;
    std::error_code first;
    for (auto& info : infos) {
        auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
        if (left.count() < 0) left = ms(0);
        if (auto ec = info.wait_for_publish(left)) {
            if (!failed++) first = ec;
        }
    }
    return {failed, first};
}

}  // namespace fault_test
