#pragma once

// Encoded-packet buffers, recycled: publish() encodes into a buffer a
// finished write gave back, so a steady stream reuses warm memory instead of
// allocating (and, for large messages, page-faulting) a new one each time.
// Bounded in count and bytes; what does not fit is freed.

#include <mqtt/protocol/packet.hpp>

#include <cstddef>
#include <mutex>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace detail {

class buffer_pool {
public:
    static constexpr std::size_t max_buffers = 256;
    static constexpr std::size_t max_bytes = 4 * 1024 * 1024;  // capacity kept, over all buffers
    static constexpr std::size_t max_buffer = 1024 * 1024;  // larger ones are not kept

    // An empty buffer that holds at least `size` bytes without growing, if
    // the most recently returned one does; else an empty new one.
    protocol::byte_buffer take(std::size_t size)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (idle_.empty() || idle_.back().capacity() < size) return {};
        protocol::byte_buffer b = std::move(idle_.back());
        idle_.pop_back();
        bytes_ -= b.capacity();
        return b;
    }

    // Takes back the buffers in `returned` (emptied, capacity kept) under one
    // lock, as many as the bounds allow; clears `returned`.
    void give_back(std::vector<protocol::byte_buffer>& returned)
    {
        if (returned.empty()) return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto& b : returned) {
                const std::size_t capacity = b.capacity();
                if (capacity == 0 || capacity > max_buffer) continue;
                if (idle_.size() == max_buffers || bytes_ + capacity > max_bytes) break;
                b.clear();
                bytes_ += capacity;
                idle_.push_back(std::move(b));
            }
        }
        returned.clear();  // frees what was not kept, outside the lock
    }

private:
    std::mutex mutex_;
    std::vector<protocol::byte_buffer> idle_;
    std::size_t bytes_ = 0;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
