#pragma once

// A small pseudo-random generator (splitmix64) and a seed that differs per
// call and per process, without <random>, whose parse alone costs every
// translation unit that includes the client about 0.2 s. Not for secrets:
// reconnect jitter and generated client ids.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mqtt {
inline namespace v1 {
namespace detail {

class splitmix64 {
public:
    explicit splitmix64(std::uint64_t seed = 0) noexcept : state_(seed) {}

    void seed(std::uint64_t s) noexcept { state_ = s; }

    std::uint64_t next() noexcept
    {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    // Uniform enough in [low, high] for jitter (the modulo's bias is below 2^-40).
    std::uint64_t between(std::uint64_t low, std::uint64_t high) noexcept { return low + next() % (high - low + 1); }

private:
    std::uint64_t state_;
};

// Both clocks, a process-wide counter and a stack address (randomised by
// ASLR): two clients, or two processes started together, seed differently.
inline std::uint64_t entropy_seed() noexcept
{
    static std::atomic<std::uint64_t> calls{0};
    const int on_stack = 0;
    std::uint64_t mix = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    mix ^= static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) << 17;
    mix ^= calls.fetch_add(1, std::memory_order_relaxed) << 48;
    mix ^= static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&on_stack));
    return splitmix64(mix).next();
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
