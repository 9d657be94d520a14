#pragma once

// Memory for the client's posted handlers. Asio allocates an operation per
// post; from a thread outside the loop (a publisher waking the loop) that is
// an operator new each time. Wake-ups are coalesced, so one is outstanding at
// a time: a single preallocated slot serves them, and anything that does not
// fit or finds the slot taken falls back to the heap.

#include <atomic>
#include <cstddef>
#include <new>

namespace mqtt {
inline namespace v1 {
namespace detail {

struct handler_slot {
    static constexpr std::size_t size = 256;
    alignas(std::max_align_t) unsigned char bytes[size];
    std::atomic<bool> in_use{false};
};

template <class T>
class slot_allocator {
public:
    using value_type = T;

    explicit slot_allocator(handler_slot* slot) noexcept : slot_(slot) {}
    template <class U>
    slot_allocator(const slot_allocator<U>& other) noexcept : slot_(other.slot())
    {
    }

    T* allocate(std::size_t n)
    {
        const std::size_t bytes = n * sizeof(T);
        if (bytes <= handler_slot::size && alignof(T) <= alignof(std::max_align_t) &&
            !slot_->in_use.exchange(true, std::memory_order_acquire))
            return reinterpret_cast<T*>(slot_->bytes);
        return static_cast<T*>(::operator new(bytes));
    }

    void deallocate(T* p, std::size_t) noexcept
    {
        if (reinterpret_cast<unsigned char*>(p) == slot_->bytes) {
            slot_->in_use.store(false, std::memory_order_release);
        } else {
            ::operator delete(p);
        }
    }

    handler_slot* slot() const noexcept { return slot_; }

    template <class U>
    friend bool operator==(const slot_allocator& a, const slot_allocator<U>& b) noexcept
    {
        return a.slot_ == b.slot();
    }
    template <class U>
    friend bool operator!=(const slot_allocator& a, const slot_allocator<U>& b) noexcept
    {
        return a.slot_ != b.slot();
    }

private:
    handler_slot* slot_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
