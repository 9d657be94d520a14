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

// Counts numbered messages (payload = decimal index in [0, n)): how many
// distinct ones arrived, how many more than once, which are missing.
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
            bool numeric = !m.payload.empty() && m.payload.size() <= 9;
            for (char ch : m.payload) {
                if (ch < '0' || ch > '9') {
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

// Mosquitto 2.0 (at least up to 2.0.11) breaks QoS 2 for its subscribers
// when a connection drops while it is re-sending PUBREL: the PUBREL write
// fails, the message stays in state "resend_pubrel", and the next reconnect
// (db__message_reconnect_reset_outgoing) turns every state other than
// "wait_for_pubcomp" back into "publish_qos2" - so the broker re-sends, with
// DUP, a PUBLISH it had already released. MQTT 3.1.1 forbids that
// [MQTT-4.3.3-1]; a receiver that completed the id cannot tell it from a new
// message. This counts, per packet id, the PUBLISHes the broker sent to
// `client_id` after it had sent PUBREL for that id (from the broker's
// log_type all log), so that a test can tell those duplicates from the
// client's own.
inline std::map<int, std::size_t> broker_publish_after_pubrel(const std::string& log, const std::string& client_id)
{
    std::map<int, std::size_t> resent;
    std::map<int, bool> released;
    const std::string pubrel = "Sending PUBREL to " + client_id + " (m";
    const std::string publish = "Sending PUBLISH to " + client_id + " (d";
    std::size_t pos = 0;
    while (pos < log.size()) {
        std::size_t end = log.find('\n', pos);
        if (end == std::string::npos) end = log.size();
        const std::string_view line(log.data() + pos, end - pos);
        pos = end + 1;
        auto mid_after = [&](std::size_t from) {
            int mid = 0;
            while (from < line.size() && line[from] >= '0' && line[from] <= '9') mid = mid * 10 + (line[from++] - '0');
            return mid;
        };
        if (auto at = line.find(pubrel); at != std::string_view::npos) {
            released[mid_after(at + pubrel.size())] = true;
        } else if (auto p = line.find(publish); p != std::string_view::npos) {
            // "(d1, q2, r0, m275, 'topic', ..."
            const bool dup = line.size() > p + publish.size() && line[p + publish.size()] == '1';
            const auto m = line.find(", m", p);
            if (m == std::string_view::npos) continue;
            const int mid = mid_after(m + 3);
            if (!dup)
                released[mid] = false;  // a new message under this id
            else if (released[mid])
                ++resent[mid];
        }
    }
    return resent;
}

// How often `needle` occurs in `text` (the broker's log).
inline std::size_t occurrences(const std::string& text, const std::string& needle)
{
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

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
