#pragma once

// The topic filters a session subscribed, with their QoS: what it renews
// after a reconnect that found no session on the broker.

#include <mqtt/protocol/packet.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace session {

class subscription_list {
public:
    // Adds the filter, or updates its QoS.
    void remember(const protocol::subscription& s)
    {
        for (auto& known : list_)
            if (known.filter == s.filter) {
                known.qos = s.qos;
                return;
            }
        list_.push_back(s);
    }

    void forget(const std::string& filter)
    {
        list_.erase(std::remove_if(list_.begin(), list_.end(), [&](const auto& s) { return s.filter == filter; }),
                    list_.end());
    }

    void clear() noexcept { list_.clear(); }
    bool empty() const noexcept { return list_.empty(); }
    const std::vector<protocol::subscription>& all() const noexcept { return list_; }

private:
    std::vector<protocol::subscription> list_;
};

}  // namespace session
}  // namespace v1
}  // namespace mqtt
