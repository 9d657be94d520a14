#pragma once

// Keepalive decisions for one connection, from the times the layer below
// reports; no clock of its own.
//
// A PINGREQ goes out when keepalive passed without a packet sent or without
// one heard, and no write is under way. Progress on the socket counts as
// life: a slow but steady write of a large packet keeps the link alive. The
// link is dead when a PINGREQ stays unanswered for half a keepalive with no
// progress either way since (a silent, half-open link: found within 1.5 x
// keepalive), or when a write makes no progress for 1.5 x keepalive.

#include <algorithm>
#include <chrono>
#include <optional>

namespace mqtt {
inline namespace v1 {
namespace session {

class keepalive_tracker {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    void start(std::chrono::seconds keepalive, time_point now)
    {
        keepalive_ = std::chrono::duration_cast<clock::duration>(keepalive);
        last_read_ = last_write_ = last_sent_ = now;
        ping_outstanding_ = false;
    }

    void stop() { keepalive_ = clock::duration::zero(); }

    void read_progress(time_point now) { last_read_ = std::max(last_read_, now); }
    void write_progress(time_point now) { last_write_ = std::max(last_write_, now); }
    // A whole write finished: the broker heard from us.
    void written(time_point now)
    {
        write_progress(now);
        last_sent_ = std::max(last_sent_, now);
    }
    // Any complete packet from the broker answers an outstanding PINGREQ.
    void packet_received(time_point now)
    {
        read_progress(now);
        ping_outstanding_ = false;
    }

    bool enabled() const { return keepalive_ != clock::duration::zero(); }

    bool ping_due(time_point now, bool writing) const
    {
        if (!enabled() || writing || ping_outstanding_) return false;
        return now - last_sent_ >= keepalive_ || now - last_read_ >= keepalive_;
    }

    void ping_sent(time_point now)
    {
        ping_outstanding_ = true;
        ping_sent_ = now;
    }

    bool dead(time_point now, bool writing) const
    {
        if (!enabled()) return false;
        if (ping_outstanding_ && now - std::max({ping_sent_, last_read_, last_write_}) >= keepalive_ / 2) return true;
        return writing && now - std::max(last_read_, last_write_) >= keepalive_ + keepalive_ / 2;
    }

    // When the next decision is due.
    std::optional<time_point> deadline(bool writing) const
    {
        if (!enabled()) return std::nullopt;
        const time_point stalled = std::max(last_read_, last_write_) + keepalive_ + keepalive_ / 2;
        if (ping_outstanding_) {
            const time_point unanswered = std::max({ping_sent_, last_read_, last_write_}) + keepalive_ / 2;
            return writing ? std::min(unanswered, stalled) : unanswered;
        }
        return writing ? stalled : std::min(last_sent_, last_read_) + keepalive_;
    }

private:
    clock::duration keepalive_{};
    time_point last_read_{};
    time_point last_write_{};
    time_point last_sent_{};
    time_point ping_sent_{};
    bool ping_outstanding_ = false;
};

}  // namespace session
}  // namespace v1
}  // namespace mqtt
