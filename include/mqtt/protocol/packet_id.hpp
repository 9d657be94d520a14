#pragma once

// Packet identifiers for QoS 1/2 PUBLISH, SUBSCRIBE and UNSUBSCRIBE.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace mqtt {
inline namespace v1 {
namespace protocol {

// Hands out ids 1, 2, 3, ... 65535, 1, ... skipping those still in use, so a
// just-released id is not reused at once (a late ack for it cannot be
// mistaken for the new packet's). One bit per id, 8 KiB inline, no
// allocation. Not thread-safe: owned by the loop thread.
class packet_id_allocator {
public:
    packet_id_allocator() noexcept { reset(); }

    // The next free id after the last one handed out, or nullopt when all
    // 65535 are in use.
    std::optional<std::uint16_t> allocate() noexcept
    {
        if (in_use_count_ == max_ids) return std::nullopt;
        // Id 0's bit is always set, so the wrapped search skips it.
        std::size_t id = find_free(next_, bit_count);
        if (id == bit_count) id = find_free(0, next_);
        set(id);
        ++in_use_count_;
        next_ = id + 1 == bit_count ? 1 : id + 1;
        return static_cast<std::uint16_t>(id);
    }

    // Makes `id` available again; releasing a free id (or 0) does nothing.
    void release(std::uint16_t id) noexcept
    {
        if (!in_use(id)) return;
        words_[id / 64] &= ~bit(id);
        --in_use_count_;
    }

    bool in_use(std::uint16_t id) const noexcept { return id != 0 && (words_[id / 64] & bit(id)) != 0; }

    std::size_t in_use_count() const noexcept { return in_use_count_; }

    // Frees every id and starts again from 1.
    void reset() noexcept
    {
        words_.fill(0);
        set(0);  // 0 is never a valid packet id
        next_ = 1;
        in_use_count_ = 0;
    }

private:
    static constexpr std::size_t bit_count = 65536;
    static constexpr std::size_t max_ids = 65535;
    static constexpr std::uint64_t all_ones = ~std::uint64_t{0};

    static constexpr std::uint64_t bit(std::size_t id) noexcept { return std::uint64_t{1} << (id % 64); }

    void set(std::size_t id) noexcept { words_[id / 64] |= bit(id); }

    static std::size_t lowest_set_bit(std::uint64_t word) noexcept
    {
#if defined(__GNUC__) || defined(__clang__)
        return static_cast<std::size_t>(__builtin_ctzll(word));
#else
        std::size_t n = 0;
        while ((word & 1u) == 0) {
            word >>= 1;
            ++n;
        }
        return n;
#endif
    }

    // First free id in [from, to), or bit_count when there is none; skips
    // full words 64 ids at a time.
    std::size_t find_free(std::size_t from, std::size_t to) const noexcept
    {
        std::size_t id = from;
        while (id < to) {
            const std::uint64_t free_bits = ~words_[id / 64] & (all_ones << (id % 64));
            if (free_bits != 0) {
                const std::size_t found = (id / 64) * 64 + lowest_set_bit(free_bits);
                return found < to ? found : bit_count;
            }
            id = (id / 64 + 1) * 64;
        }
        return bit_count;
    }

    std::array<std::uint64_t, bit_count / 64> words_{};
    std::size_t next_ = 1;
    std::size_t in_use_count_ = 0;
};

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
