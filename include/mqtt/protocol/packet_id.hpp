#pragma once

// Packet identifiers for QoS 1/2 PUBLISH, SUBSCRIBE and UNSUBSCRIBE.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>

namespace mqtt {
inline namespace v1 {
namespace protocol {

// Hands out ids 1, 2, 3, ... 65535, 1, ... skipping those still in use, so a
// just-released id is not reused at once (a late ack for it cannot be
// mistaken for the new packet's). One bit per id, in pages of 1024 ids made
// when first needed and given back when empty: an idle client holds none
// (a client per device must stay small), a steady stream one or two, and a
// spare page is kept so that walking on to the next page allocates nothing.
// Not thread-safe: owned by the loop thread.
class packet_id_allocator {
public:
    packet_id_allocator() noexcept = default;
    packet_id_allocator(const packet_id_allocator&) = delete;
    packet_id_allocator& operator=(const packet_id_allocator&) = delete;

    // The next free id after the last one handed out, or nullopt when all
    // 65535 are in use (or a page cannot be allocated).
    std::optional<std::uint16_t> allocate() noexcept
    {
        if (in_use_count_ == max_ids) return std::nullopt;
        std::size_t id = find_free(next_, bit_count);
        if (id == bit_count) id = find_free(1, next_);
        if (id == bit_count || !set(id)) return std::nullopt;
        ++in_use_count_;
        next_ = id + 1 == bit_count ? 1 : id + 1;
        return static_cast<std::uint16_t>(id);
    }

    // Makes `id` available again; releasing a free id (or 0) does nothing.
    void release(std::uint16_t id) noexcept
    {
        if (!in_use(id)) return;
        page& p = *pages_[id / page_bits];
        p.words[(id % page_bits) / 64] &= ~bit(id);
        --in_use_count_;
        if (--p.used == 0) give_back(id / page_bits);
    }

    bool in_use(std::uint16_t id) const noexcept
    {
        const auto& p = pages_[id / page_bits];
        return id != 0 && p && (p->words[(id % page_bits) / 64] & bit(id)) != 0;
    }

    std::size_t in_use_count() const noexcept { return in_use_count_; }

    // Frees every id and starts again from 1.
    void reset() noexcept
    {
        for (std::size_t i = 0; i < page_count; ++i)
            if (pages_[i]) give_back(i);
        next_ = 1;
        in_use_count_ = 0;
    }

private:
    static constexpr std::size_t bit_count = 65536;
    static constexpr std::size_t max_ids = 65535;
    static constexpr std::size_t page_bits = 1024;
    static constexpr std::size_t page_count = bit_count / page_bits;
    static constexpr std::uint64_t all_ones = ~std::uint64_t{0};

    struct page {
        std::array<std::uint64_t, page_bits / 64> words{};
        std::size_t used = 0;
    };

    static constexpr std::uint64_t bit(std::size_t id) noexcept { return std::uint64_t{1} << (id % 64); }

    bool set(std::size_t id) noexcept
    {
        auto& p = pages_[id / page_bits];
        if (!p) {
            if (spare_) {
                p = std::move(spare_);
            } else {
                p.reset(new (std::nothrow) page);
                if (!p) return false;
            }
        }
        p->words[(id % page_bits) / 64] |= bit(id);
        ++p->used;
        return true;
    }

    void give_back(std::size_t index) noexcept
    {
        auto& p = pages_[index];
        *p = page{};
        if (!spare_) spare_ = std::move(p);
        p.reset();
    }

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

    // The word of 64 ids that holds `id`; a missing page is all free.
    std::uint64_t word_at(std::size_t id) const noexcept
    {
        const auto& p = pages_[id / page_bits];
        return p ? p->words[(id % page_bits) / 64] : 0;
    }

    // First free id in [from, to), or bit_count when there is none; skips
    // full words 64 ids at a time. Id 0 is never handed out.
    std::size_t find_free(std::size_t from, std::size_t to) const noexcept
    {
        std::size_t id = from == 0 ? 1 : from;
        while (id < to) {
            std::uint64_t free_bits = ~word_at(id) & (all_ones << (id % 64));
            if (id < 64) free_bits &= ~std::uint64_t{1};
            if (free_bits != 0) {
                const std::size_t found = (id / 64) * 64 + lowest_set_bit(free_bits);
                return found < to ? found : bit_count;
            }
            id = (id / 64 + 1) * 64;
        }
        return bit_count;
    }

    std::array<std::unique_ptr<page>, page_count> pages_{};
    std::unique_ptr<page> spare_;
    std::size_t next_ = 1;
    std::size_t in_use_count_ = 0;
};

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
