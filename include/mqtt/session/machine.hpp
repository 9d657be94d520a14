#pragma once

// mqtt::session::machine — one MQTT 3.1.1 client session as a state machine:
// no I/O, no threads, no clock of its own. Not thread-safe: its owner calls
// it from one thread at a time (the client holds a lock around each call).
//
// Inputs: user requests (publish, subscribe, unsubscribe, disconnect),
// the connection's life (link_opened, link_closed), decoded packets
// (received), socket progress and the time (tick).
// Outputs: bytes to write (take_write / write_done), a request to close the
// connection (take_close_request), events in order (poll) and the next time
// it wants a tick (deadline).
//
// It owns the outgoing queue and its bounds, the in-flight window, packet
// ids, inbound QoS 2 state, resend order, remembered subscriptions,
// keepalive and CONNACK handling.
//
// Inbound QoS 2 uses the spec's method B: a message is delivered when its
// PUBLISH arrives and only its packet id is kept until PUBREL, so a resent
// PUBLISH (same id) is acknowledged again but not delivered twice.

#include <mqtt/error.hpp>
#include <mqtt/message.hpp>
#include <mqtt/protocol/describe.hpp>
#include <mqtt/protocol/encoder.hpp>
#include <mqtt/protocol/packet.hpp>
#include <mqtt/protocol/packet_id.hpp>
#include <mqtt/session/events.hpp>
#include <mqtt/session/keepalive.hpp>
#include <mqtt/session/request.hpp>
#include <mqtt/session/ring_queue.hpp>
#include <mqtt/session/settings.hpp>
#include <mqtt/session/subscription_list.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace session {

// The connection as the session sees it.
enum class link_state : std::uint8_t {
    idle,  // no session: before connect(), or after it ended
    down,  // a session without a connection (the transport is opening, or a reconnect waits)
    connecting,  // CONNECT goes out, CONNACK is awaited
    up,  // CONNACK accepted
    disconnecting,  // disconnect() called: what is queued and in flight goes out first
    closing,  // DISCONNECT is (about to be) written; then the connection closes
};

// One piece of a gather write; points into memory the session keeps until write_done.
struct chunk {
    const std::uint8_t* data;
    std::size_t size;
};

inline errc connack_error(std::uint8_t code)
{
    switch (code) {
    case 0: return errc::success;
    case 1: return errc::connection_refused_protocol_version;
    case 2: return errc::connection_refused_identifier_rejected;
    case 3: return errc::connection_refused_server_unavailable;
    case 4: return errc::connection_refused_bad_username_password;
    case 5: return errc::connection_refused_not_authorized;
    default: return errc::connection_refused_unknown_code;
    }
}

template <class Token>
class machine {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using event_type = event<Token>;

    struct result {
        std::error_code ec;
        int mid = 0;
    };

    // Packets taken from the queue per write: bounds the latency of acks
    // queued behind a burst.
    static constexpr std::size_t max_requests_per_write = 1024;
    // After the disconnect deadline, how long a stuck write may still take
    // before the connection is closed without DISCONNECT.
    static constexpr std::chrono::seconds goodbye_grace{1};

    settings& config() noexcept { return settings_; }
    const settings& config() const noexcept { return settings_; }
    link_state state() const noexcept { return state_; }
    bool active() const noexcept { return state_ != link_state::idle; }
    bool accepts_requests() const noexcept
    {
        return active() && state_ != link_state::disconnecting && state_ != link_state::closing;
    }
    bool writing() const noexcept { return writing_; }
    std::size_t queued() const noexcept { return queue_.size(); }
    std::size_t queued_bytes() const noexcept { return queue_bytes_; }
    std::size_t inflight() const noexcept { return window_.size() + released_.size(); }
    std::size_t awaiting_acks() const noexcept { return awaiting_.size(); }
    std::size_t inbound_qos2() const noexcept { return inbound_qos2_.size(); }
    std::size_t packet_ids_in_use() const noexcept { return ids_.in_use_count(); }
    const std::vector<protocol::subscription>& subscriptions() const noexcept { return subscriptions_.all(); }

    // Calls f(packet_id, mid) for every operation that holds a wire id.
    template <class F>
    void for_each_packet_id(F f) const
    {
        for (const auto& r : window_) f(r.packet_id, r.mid);
        for (const auto& r : released_) f(r.packet_id, r.mid);
        for (const auto& r : awaiting_) f(r.packet_id, r.mid);
    }

    // ---- the session's life -------------------------------------------------

    // connect() was called: a session exists from now on.
    void begin()
    {
        if (state_ != link_state::idle) return;
        state_ = link_state::down;
        had_connection_ = false;
        goodbye_pending_ = goodbye_sent_ = false;
        // A close request end() left stays: the old transport must still close.
    }

    // Ends the session: every pending operation fails with ec, subscriptions
    // are forgotten. A persistent session keeps its inbound QoS 2 ids.
    void end(std::error_code ec)
    {
        if (state_ == link_state::idle) return;
        const bool link_open = state_ != link_state::down;
        for (auto& r : queue_) fail(r, ec);
        for (auto& r : window_) fail(r, ec);
        for (auto& r : released_) fail(r, ec);
        for (auto& r : awaiting_) fail(r, ec);
        for (auto& r : writing_qos0_) fail(r, ec);
        queue_.clear();
        queued_requests_ = 0;
        window_.clear();
        released_.clear();
        awaiting_.clear();
        writing_qos0_.clear();
        queue_bytes_ = 0;
        ids_.reset();
        subscriptions_.clear();
        if (clean_session_) inbound_qos2_.clear();
        control_.clear();
        keepalive_.stop();
        goodbye_pending_ = false;
        state_ = link_state::idle;
        if (link_open && !close_request_) close_request_ = ec;
    }

    // ---- user requests ------------------------------------------------------

    // `packet` is an encoded PUBLISH of this QoS; its packet id (QoS 1/2) is
    // written in when it is sent. Under queue_policy::drop_oldest the tokens
    // of the messages dropped to make room are appended to `dropped`: the
    // caller fails them with queue_full.
    result publish(protocol::byte_buffer packet, std::uint8_t qos, Token token, std::vector<Token>& dropped)
    {
        if (!accepts_requests()) return {make_error_code(errc::not_connected)};
        if (!admit(packet.size(), dropped)) return {make_error_code(errc::queue_full)};
        request<Token> r;
        r.bytes = std::move(packet);
        r.token = std::move(token);
        r.mid = next_mid();
        r.id_offset = qos > 0 ? publish_id_offset(r.bytes) : 0;
        r.qos = qos;
        queue_bytes_ += r.bytes.size();
        queue_.push_back(std::move(r));
        return {{}, queue_.back().mid};
    }

    result subscribe(std::vector<protocol::subscription> topics)
    {
        if (!accepts_requests()) return {make_error_code(errc::not_connected)};
        if (settings_.max_queued != 0 && queue_.size() >= settings_.max_queued)
            return {make_error_code(errc::queue_full)};
        for (const auto& t : topics) subscriptions_.remember(t);
        return enqueue_subscribe(std::move(topics), false, false);
    }

    result unsubscribe(std::vector<std::string> filters)
    {
        if (!accepts_requests()) return {make_error_code(errc::not_connected)};
        if (settings_.max_queued != 0 && queue_.size() >= settings_.max_queued)
            return {make_error_code(errc::queue_full)};
        protocol::unsubscribe packet;
        packet.packet_id = 1;  // written in when sent
        request<Token> r;
        for (auto& f : filters) {
            subscriptions_.forget(f);
            r.topics.push_back({f, 0});
            packet.filters.push_back(std::move(f));
        }
        protocol::encode(packet, r.bytes);
        r.id_offset = variable_header_offset(r.bytes);
        r.kind = request_kind::unsubscribe;
        r.mid = next_mid();
        queue_bytes_ += r.bytes.size();
        ++queued_requests_;
        queue_.push_back(std::move(r));
        return {{}, queue_.back().mid};
    }

    // Takes a publish that is still queued (not yet sent) out of the queue;
    // it completes with ec. False when it was sent already or is unknown.
    bool withdraw(int mid, std::error_code ec)
    {
        for (auto it = queue_.begin(); it != queue_.end(); ++it) {
            if (it->kind != request_kind::publish || it->mid != mid) continue;
            queue_bytes_ -= it->bytes.size();
            fail(*it, ec);
            queue_.erase(it);
            return true;
        }
        return false;
    }

    // The clean goodbye: what is queued and in flight goes first, and the
    // PUBRELs of inbound QoS 2 are answered, for at most
    // settings().disconnect_timeout; then DISCONNECT. PUBLISHes that arrive
    // meanwhile are neither delivered nor acknowledged.
    std::error_code disconnect(time_point now)
    {
        switch (state_) {
        case link_state::idle: return make_error_code(errc::not_connected);
        case link_state::down:
            end(make_error_code(errc::disconnected));
            events_.emplace_back(disconnected{});
            log(log_level::debug, "disconnected");
            return {};
        case link_state::connecting:
            disconnect_deadline_ = now + settings_.disconnect_timeout;
            goodbye_pending_ = true;
            state_ = link_state::closing;
            return {};
        case link_state::up:
            disconnect_deadline_ = now + settings_.disconnect_timeout;
            state_ = link_state::disconnecting;
            return {};
        case link_state::disconnecting:
        case link_state::closing: return {};
        }
        return {};
    }

    // After the resubscribe_due event: subscribe again to what this session
    // subscribed, except filters already queued or awaiting their SUBACK.
    void resubscribe()
    {
        if (state_ != link_state::up || !settings_.resubscribe) return;
        std::vector<protocol::subscription> topics;
        for (const auto& s : subscriptions_.all())
            if (!pending_subscribe(s.filter)) topics.push_back(s);
        if (topics.empty()) return;
        log(log_level::debug, "resubscribing to " + std::to_string(topics.size()) + " topic filter(s)");
        enqueue_subscribe(std::move(topics), true, true);
    }

    // ---- the connection -------------------------------------------------------

    // The transport is up: CONNECT goes out first.
    void link_opened(const protocol::connect& packet, time_point now)
    {
        (void)now;
        if (state_ != link_state::down) return;
        ++link_gen_;
        clean_session_ = packet.clean_session;
        keepalive_seconds_ = packet.keepalive;
        if (clean_session_) inbound_qos2_.clear();
        control_.clear();
        protocol::encode(packet, control_);
        close_request_.reset();
        goodbye_sent_ = false;
        state_ = link_state::connecting;
    }

    // The transport is gone: lost, refused, or closed as the session asked.
    void link_closed(std::error_code ec, time_point now)
    {
        (void)now;
        const link_state was = state_;
        close_request_.reset();
        if (was == link_state::idle) return;
        state_ = link_state::down;
        keepalive_.stop();
        control_.clear();
        for (auto& r : window_) r.resend = false;
        for (auto& r : awaiting_) r.resend = false;
        switch (was) {
        case link_state::idle:
        case link_state::down:
        case link_state::connecting:  // an attempt failed: the owner retries, fails over or ends
            return;
        case link_state::up:
            log(log_level::err, "connection lost: " + ec.message());
            events_.emplace_back(disconnected{ec});
            if (!settings_.reconnect) end(make_error_code(errc::connection_lost));
            return;
        case link_state::disconnecting:
        case link_state::closing: {
            // The broker closing while our DISCONNECT is still in the write
            // (its read of it raced our write's completion) is the goodbye done.
            const bool goodbye_done =
                goodbye_sent_ || (goodbye_in_write_ && ec == make_error_code(errc::connection_lost));
            const std::error_code reason = goodbye_done ? std::error_code{} : ec;
            end(make_error_code(errc::disconnected));
            log(log_level::debug, reason ? "session ended: " + reason.message() : std::string("disconnected"));
            events_.emplace_back(disconnected{reason});
            return;
        }
        }
    }

    void received(protocol::packet& p, time_point now)
    {
        if (close_request_ || state_ == link_state::idle || state_ == link_state::down) return;
        keepalive_.packet_received(now);
        if (settings_.logging) log(log_level::debug, "Received " + protocol::describe(p));
        if (auto* ack = std::get_if<protocol::connack>(&p)) return on_connack(*ack, now);
        if (state_ == link_state::connecting)
            return violation(errc::unexpected_packet, "a packet before CONNACK");
        if (state_ == link_state::closing) return;
        protocol::visit(p, [&](auto& packet) { on_packet(packet); });
    }

    void read_progress(time_point now) { keepalive_.read_progress(now); }
    void write_progress(time_point now) { keepalive_.write_progress(now); }

    // ---- output -----------------------------------------------------------------

    // Fills `out` with the next gather write; false when there is nothing to
    // write or a write is under way. The memory stays valid until write_done.
    bool take_write(std::vector<chunk>& out, time_point now);

    // The write from take_write finished (ec set: it failed or was aborted).
    void write_done(std::error_code ec, time_point now);

    // Set when the connection must close: a protocol error, keepalive timeout,
    // a refused CONNACK, or DISCONNECT written (empty error). The owner closes
    // the transport and then calls link_closed.
    std::optional<std::error_code> take_close_request() { return std::exchange(close_request_, std::nullopt); }
    bool close_requested() const noexcept { return close_request_.has_value(); }

    bool poll(event_type& out)
    {
        if (events_.empty()) return false;
        out = std::move(events_.front());
        events_.pop_front();
        return true;
    }
    bool has_events() const noexcept { return !events_.empty(); }

    // Buffers of packets done with, for reuse by the encoder.
    void take_recycled(std::vector<protocol::byte_buffer>& out)
    {
        for (auto& b : recycled_) out.push_back(std::move(b));
        recycled_.clear();
    }

    // ---- time ---------------------------------------------------------------------

    void tick(time_point now)
    {
        if (close_request_) return;
        if (state_ == link_state::up || state_ == link_state::disconnecting) {
            if (keepalive_.dead(now, writing_)) {
                log(log_level::err, "no answer from the broker within the keepalive: closing the connection");
                close_request_ = make_error_code(errc::keepalive_timeout);
                return;
            }
            if (keepalive_.ping_due(now, writing_)) {
                protocol::encode(protocol::pingreq{}, control_);
                keepalive_.ping_sent(now);
            }
        }
        if ((state_ == link_state::disconnecting || state_ == link_state::closing) &&
            now >= disconnect_deadline_ + goodbye_grace) {
            log(log_level::warning, "DISCONNECT could not be written in time: closing the connection");
            close_request_ = make_error_code(errc::timeout);
        }
    }

    std::optional<time_point> deadline() const
    {
        std::optional<time_point> due;
        const auto consider = [&due](std::optional<time_point> t) {
            if (t && (!due || *t < *due)) due = t;
        };
        if (state_ == link_state::up || state_ == link_state::disconnecting) consider(keepalive_.deadline(writing_));
        if (state_ == link_state::disconnecting)
            consider(writing_ ? disconnect_deadline_ + goodbye_grace : disconnect_deadline_);
        if (state_ == link_state::closing) consider(disconnect_deadline_ + goodbye_grace);
        return due;
    }

private:
    int next_mid() noexcept
    {
        if (last_mid_ == INT_MAX) last_mid_ = 0;
        return ++last_mid_;
    }

    void log(log_level level, std::string text)
    {
        if (settings_.logging) events_.emplace_back(log_line{level, std::move(text)});
    }

    void violation(errc code, const std::string& what)
    {
        log(log_level::err, "protocol error from the broker: " + what);
        close_request_ = make_error_code(code);
    }

    // A buffer done with: reused once no write points into it.
    void retire(protocol::byte_buffer& bytes)
    {
        if (bytes.capacity() == 0) return;
        (writing_ ? retired_ : recycled_).push_back(std::move(bytes));
        bytes = {};
    }

    void fail(request<Token>& r, std::error_code ec)
    {
        ids_.release(r.packet_id);
        retire(r.bytes);
        if (r.kind == request_kind::publish) events_.emplace_back(published<Token>{r.mid, std::move(r.token), ec});
    }

    bool admit(std::size_t bytes, std::vector<Token>& dropped)
    {
        const auto full = [&] {
            return (settings_.max_queued != 0 && queue_.size() >= settings_.max_queued) ||
                   (settings_.max_queued_bytes != 0 && queue_bytes_ + bytes > settings_.max_queued_bytes);
        };
        if (!full()) return true;
        if (settings_.policy == queue_policy::reject) return false;
        // drop_oldest: the oldest queued publishes make way; requests stay.
        // Nothing is dropped in vain: first, would dropping them all be enough?
        std::size_t publishes = 0;
        std::size_t publish_bytes = 0;
        for (const auto& r : queue_)
            if (r.kind == request_kind::publish) {
                ++publishes;
                publish_bytes += r.bytes.size();
            }
        if ((settings_.max_queued != 0 && queue_.size() - publishes >= settings_.max_queued) ||
            (settings_.max_queued_bytes != 0 && queue_bytes_ - publish_bytes + bytes > settings_.max_queued_bytes))
            return false;
        for (auto it = queue_.begin(); it != queue_.end() && full();) {
            if (it->kind != request_kind::publish) {
                ++it;
                continue;
            }
            queue_bytes_ -= it->bytes.size();
            retire(it->bytes);
            dropped.push_back(std::move(it->token));
            it = queue_.erase(it);
        }
        return !full();
    }

    bool pending_subscribe(const std::string& filter) const
    {
        const auto has = [&](const request<Token>& r) {
            if (r.kind != request_kind::subscribe) return false;
            for (const auto& t : r.topics)
                if (t.filter == filter) return true;
            return false;
        };
        return std::any_of(queue_.begin(), queue_.end(), has) || std::any_of(awaiting_.begin(), awaiting_.end(), has);
    }

    result enqueue_subscribe(std::vector<protocol::subscription> topics, bool automatic, bool first)
    {
        protocol::subscribe packet;
        packet.packet_id = 1;  // written in when sent
        packet.subscriptions = topics;
        request<Token> r;
        protocol::encode(packet, r.bytes);
        r.id_offset = variable_header_offset(r.bytes);
        r.kind = request_kind::subscribe;
        r.automatic = automatic;
        r.topics = std::move(topics);
        r.mid = next_mid();
        const int mid = r.mid;
        queue_bytes_ += r.bytes.size();
        ++queued_requests_;
        if (first)
            queue_.push_front(std::move(r));
        else
            queue_.push_back(std::move(r));
        return {{}, mid};
    }

    // Nothing left for disconnect() to wait for: also no inbound QoS 2 whose
    // PUBREL is due, so that the broker's exchange completes with PUBCOMP.
    bool flushed() const noexcept
    {
        return queue_.empty() && window_.empty() && released_.empty() && awaiting_.empty() && inbound_qos2_.empty();
    }

    void take_resend(request<Token>& r, std::vector<chunk>& out);

    void take_from_queue(std::vector<chunk>& out);

    // SUBSCRIBE and UNSUBSCRIBE queued behind publishes that the in-flight
    // window holds back go now, as paho sends them: the window bounds
    // publishes, and MQTT orders publishes, not requests among them.
    void take_requests_behind(std::vector<chunk>& out, std::size_t taken);

    // Gives a queued QoS 1/2 publish or a request its wire id and moves it
    // to the window or the list awaiting acks; the caller removes it from
    // the queue. False when every id is in use.
    bool send_with_id(request<Token>& r, std::vector<chunk>& out);

    // What each packet from the broker does: impl/machine_packets.ipp.
    void on_connack(const protocol::connack& p, time_point now);
    void on_packet(protocol::publish& p);
    void on_packet(protocol::pubrel& p);
    void on_packet(protocol::puback& p);
    void on_packet(protocol::pubrec& p);
    void on_packet(protocol::pubcomp& p);
    void on_packet(protocol::suback& p);
    void on_packet(protocol::unsuback& p);
    void on_packet(protocol::pingresp&) {}
    template <class Other>
    void on_packet(Other&)
    {
        violation(errc::unexpected_packet, "a packet only a client sends");
    }
    void deliver(protocol::publish& p);

    void unknown_ack(const char* what, std::uint16_t id)
    {
        log(log_level::warning, std::string(what) + " for unknown packet id " + std::to_string(id) + ": ignored");
    }

    static typename ring_queue<request<Token>>::iterator find(ring_queue<request<Token>>& list, std::uint16_t id)
    {
        return std::find_if(list.begin(), list.end(), [id](const request<Token>& r) { return r.packet_id == id; });
    }

    void complete(request<Token>& r)
    {
        ids_.release(r.packet_id);
        retire(r.bytes);
        events_.emplace_back(published<Token>{r.mid, std::move(r.token), std::error_code{}});
    }

    settings settings_;
    link_state state_ = link_state::idle;
    bool had_connection_ = false;  // this session was up before: a reconnect may resubscribe
    bool clean_session_ = true;  // of the last CONNECT
    std::uint16_t keepalive_seconds_ = 0;
    std::uint64_t link_gen_ = 0;  // bumps per connection: a late write_done of an old one changes nothing
    std::uint64_t write_gen_ = 0;
    int last_mid_ = 0;

    ring_queue<request<Token>> queue_;  // waiting to be sent, in order
    std::size_t queue_bytes_ = 0;
    std::size_t queued_requests_ = 0;  // SUBSCRIBE and UNSUBSCRIBE among them
    ring_queue<request<Token>> window_;  // QoS 1/2 PUBLISH sent, awaiting PUBACK / PUBREC, in send order
    ring_queue<request<Token>> released_;  // QoS 2 after PUBREC, awaiting PUBCOMP, in PUBREC order
    ring_queue<request<Token>> awaiting_;  // SUBSCRIBE / UNSUBSCRIBE sent, awaiting the ack
    std::vector<request<Token>> writing_qos0_;  // QoS 0 PUBLISH in the current write
    protocol::packet_id_allocator ids_;
    std::unordered_set<std::uint16_t> inbound_qos2_;  // PUBREC sent, PUBREL awaited
    subscription_list subscriptions_;  // to renew after a sessionless reconnect

    protocol::byte_buffer control_;  // acks, pings, CONNECT, PUBREL: written first
    protocol::byte_buffer write_control_;  // control_ as handed to the current write
    bool writing_ = false;
    bool goodbye_pending_ = false;  // DISCONNECT goes in the next write
    bool goodbye_in_write_ = false;
    bool goodbye_sent_ = false;
    time_point disconnect_deadline_{};
    std::vector<protocol::byte_buffer> retired_;  // done with, but the current write points into them
    std::vector<protocol::byte_buffer> recycled_;
    std::optional<std::error_code> close_request_;
    keepalive_tracker keepalive_;
    ring_queue<event_type> events_;
};

}  // namespace session
}  // namespace v1
}  // namespace mqtt

#include <mqtt/session/impl/machine_packets.ipp>
#include <mqtt/session/impl/machine_writes.ipp>
