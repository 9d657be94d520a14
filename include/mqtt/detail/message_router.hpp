#pragma once

// Per-filter message callbacks (paho's message_callback_add): every callback
// whose filter matches runs; on_message runs only when none matched.

#include <mqtt/detail/shared_slot.hpp>
#include <mqtt/message.hpp>
#include <mqtt/protocol/topic_rules.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace detail {

class message_router {
public:
    using handler = std::function<void(const message&)>;  // the face binds itself in
    struct route {
        std::string filter;
        handler fn;
    };
    using table = std::vector<route>;

    // Adding a filter again replaces its callback.
    void add(std::string filter, handler fn)
    {
        std::lock_guard<std::mutex> lock(write_mutex_);
        auto current = routes_.load();
        auto next = current ? std::make_shared<table>(*current) : std::make_shared<table>();
        auto it = find(*next, filter);
        if (it != next->end())
            it->fn = std::move(fn);
        else
            next->push_back(route{std::move(filter), std::move(fn)});
        routes_.exchange(std::move(next));
    }

    bool remove(std::string_view filter)
    {
        std::lock_guard<std::mutex> lock(write_mutex_);
        auto current = routes_.load();
        if (!current) return false;
        auto next = std::make_shared<table>(*current);
        auto it = find(*next, filter);
        if (it == next->end()) return false;
        next->erase(it);
        if (next->empty()) next.reset();
        routes_.exchange(std::move(next));
        return true;
    }

    void clear()
    {
        std::lock_guard<std::mutex> lock(write_mutex_);
        routes_.exchange(nullptr);
    }

    // Copy-on-write: the loop takes the table as it is and calls without a lock,
    // so a callback may add or remove routes. Loop thread only.
    const table* loop_view() const { return routes_.loop_view(); }

private:
    static table::iterator find(table& t, std::string_view filter)
    {
        for (auto it = t.begin(); it != t.end(); ++it)
            if (it->filter == filter) return it;
        return t.end();
    }

    std::mutex write_mutex_;  // one add or remove at a time: each copies the table
    shared_slot<table> routes_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
