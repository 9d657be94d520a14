#pragma once

// A FIFO on one growing circular array. std::deque allocates and frees a
// block every few elements as a queue moves through it; the client's
// outgoing buffer, in-flight window and event queue pass every message
// through, so they reuse one array instead: no allocation per message once
// the queue has reached its working size.

#include <cstddef>
#include <iterator>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace mqtt {
inline namespace v1 {
namespace session {

template <class T>
class ring_queue {
    template <class Queue, class Value>
    class basic_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::remove_const_t<Value>;
        using difference_type = std::ptrdiff_t;
        using pointer = Value*;
        using reference = Value&;

        basic_iterator() = default;
        basic_iterator(Queue* q, std::size_t i) : q_(q), i_(i) {}
        reference operator*() const { return q_->at_logical(i_); }
        pointer operator->() const { return &q_->at_logical(i_); }
        basic_iterator& operator++()
        {
            ++i_;
            return *this;
        }
        basic_iterator operator++(int)
        {
            auto old = *this;
            ++i_;
            return old;
        }
        friend bool operator==(const basic_iterator& a, const basic_iterator& b) { return a.i_ == b.i_; }
        friend bool operator!=(const basic_iterator& a, const basic_iterator& b) { return a.i_ != b.i_; }

    private:
        friend class ring_queue;
        Queue* q_ = nullptr;
        std::size_t i_ = 0;  // position from the front
    };

public:
    using value_type = T;
    using iterator = basic_iterator<ring_queue, T>;
    using const_iterator = basic_iterator<const ring_queue, const T>;

    ring_queue() = default;
    ~ring_queue()
    {
        clear();
        release_storage();
    }
    ring_queue(const ring_queue&) = delete;
    ring_queue& operator=(const ring_queue&) = delete;

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    T& front() { return at_logical(0); }
    const T& front() const { return at_logical(0); }
    T& back() { return at_logical(size_ - 1); }
    const T& back() const { return at_logical(size_ - 1); }

    iterator begin() { return {this, 0}; }
    iterator end() { return {this, size_}; }
    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, size_}; }

    template <class... Args>
    T& emplace_back(Args&&... args)
    {
        make_room();
        T* p = ::new (static_cast<void*>(slot(physical(size_)))) T(std::forward<Args>(args)...);
        ++size_;
        return *p;
    }
    void push_back(T&& value) { emplace_back(std::move(value)); }

    template <class... Args>
    T& emplace_front(Args&&... args)
    {
        make_room();
        const std::size_t at = (head_ + capacity_ - 1) & (capacity_ - 1);
        T* p = ::new (static_cast<void*>(slot(at))) T(std::forward<Args>(args)...);
        head_ = at;
        ++size_;
        return *p;
    }
    void push_front(T&& value) { emplace_front(std::move(value)); }

    void pop_front()
    {
        slot(head_)->~T();
        head_ = (head_ + 1) & (capacity_ - 1);
        if (--size_ == 0) {
            head_ = 0;
            // A burst far above the usual working size gives its memory back.
            if (capacity_ > keep_capacity) release_storage();
        }
    }

    // Removes one element, moving the shorter side over the gap (acks mostly
    // remove the front). Returns an iterator to the element after it.
    iterator erase(iterator pos)
    {
        if (pos.i_ < size_ / 2) {
            for (std::size_t i = pos.i_; i > 0; --i) at_logical(i) = std::move(at_logical(i - 1));
            pop_front();
        } else {
            for (std::size_t i = pos.i_; i + 1 < size_; ++i) at_logical(i) = std::move(at_logical(i + 1));
            slot(physical(size_ - 1))->~T();
            if (--size_ == 0) head_ = 0;
        }
        return {this, pos.i_};
    }

    void swap(ring_queue& other) noexcept
    {
        std::swap(storage_, other.storage_);
        std::swap(capacity_, other.capacity_);
        std::swap(head_, other.head_);
        std::swap(size_, other.size_);
    }

    void clear()
    {
        while (size_ != 0) pop_front();
    }

private:
    static constexpr std::size_t first_capacity = 4;  // a power of two, as every capacity; small for idle clients
    static constexpr std::size_t keep_capacity = 4096;

    std::size_t physical(std::size_t logical) const noexcept { return (head_ + logical) & (capacity_ - 1); }
    T* slot(std::size_t physical_index) const noexcept { return storage_ + physical_index; }
    T& at_logical(std::size_t i) { return *std::launder(slot(physical(i))); }
    const T& at_logical(std::size_t i) const { return *std::launder(slot(physical(i))); }

    void make_room()
    {
        if (size_ < capacity_) return;
        const std::size_t bigger = capacity_ == 0 ? first_capacity : capacity_ * 2;
        std::allocator<T> alloc;
        T* fresh = alloc.allocate(bigger);
        std::size_t moved = 0;
        try {
            for (; moved < size_; ++moved)
                ::new (static_cast<void*>(fresh + moved)) T(std::move_if_noexcept(at_logical(moved)));
        } catch (...) {
            for (std::size_t i = 0; i < moved; ++i) fresh[i].~T();
            alloc.deallocate(fresh, bigger);
            throw;
        }
        for (std::size_t i = 0; i < size_; ++i) at_logical(i).~T();
        if (storage_) alloc.deallocate(storage_, capacity_);
        storage_ = fresh;
        capacity_ = bigger;
        head_ = 0;
    }

    void release_storage() noexcept
    {
        if (storage_) std::allocator<T>().deallocate(storage_, capacity_);
        storage_ = nullptr;
        capacity_ = 0;
        head_ = 0;
    }

    T* storage_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace session
}  // namespace v1
}  // namespace mqtt
