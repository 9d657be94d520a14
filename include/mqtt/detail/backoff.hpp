#pragma once

// Reconnect delays: exponential growth between a minimum and a maximum, with
// full jitter over [min, cap] so that many clients cut off by one broker
// restart do not all come back in the same instant.

#include <mqtt/detail/random.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace mqtt {
inline namespace v1 {
namespace detail {

class backoff {
public:
    using duration = std::chrono::milliseconds;

    backoff(duration min_delay, duration max_delay, std::uint64_t seed = entropy_seed())
        : min_(min_delay), max_(std::max(min_delay, max_delay)), rng_(seed)
    {
    }

    void set_bounds(duration min_delay, duration max_delay)
    {
        min_ = min_delay;
        max_ = std::max(min_delay, max_delay);
    }
    void seed(std::uint64_t s) { rng_.seed(s); }

    // The cap doubles with each call (min, 2 min, 4 min, ... max); the delay is
    // drawn uniformly from [min, cap].
    duration next()
    {
        const duration cap = current_cap();
        if (exponent_ < 62) ++exponent_;
        const auto low = static_cast<std::uint64_t>(min_.count());
        return duration(static_cast<duration::rep>(rng_.between(low, static_cast<std::uint64_t>(cap.count()))));
    }

    duration current_cap() const
    {
        duration cap = min_;
        for (unsigned i = 0; i < exponent_ && cap < max_; ++i) cap *= 2;
        return std::min(cap, max_);
    }

    void reset() { exponent_ = 0; }

private:
    duration min_;
    duration max_;
    unsigned exponent_ = 0;
    splitmix64 rng_;  // 8 bytes: a client per device must stay small (mt19937 was 5 KiB)
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
