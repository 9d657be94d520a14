#pragma once

// Per-filter message callbacks (paho's message_callback_add): every callback
// whose filter matches runs; on_message runs only when none matched.

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
class client;
namespace detail {

class message_router {
public:
    using handler = std::function<void(client&, const message&)>;
    struct route {
        std::string filter;
        handler fn;
    };
    using table = std::vector<route>;

    // Adding a filter again replaces its callback.
    void add(std::string filter, handler fn)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto next = routes_ ? std::make_shared<table>(*routes_) : std::make_shared<table>();
        auto it = find(*next, filter);
        if (it != next->end())
            it->fn = std::move(fn);
        else
            next->push_back(route{std::move(filter), std::move(fn)});
        routes_ = std::move(next);
    }

    bool remove(std::string_view filter)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!routes_) return false;
        auto next = std::make_shared<table>(*routes_);
        auto it = find(*next, filter);
        if (it == next->end()) return false;
        next->erase(it);
        routes_ = next->empty() ? nullptr : std::move(next);
        return true;
    }

    // Copy-on-write: the loop takes the table as it is and calls without a lock,
    // so a callback may add or remove routes.
    std::shared_ptr<const table> snapshot() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return routes_;
    }

private:
    static table::iterator find(table& t, std::string_view filter)
    {
        for (auto it = t.begin(); it != t.end(); ++it)
            if (it->filter == filter) return it;
        return t.end();
    }

    mutable std::mutex mutex_;
    std::shared_ptr<const table> routes_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
