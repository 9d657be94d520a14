#pragma once

// The executor's I/O around the session: reads go through the decoder into
// the session, writes take what the session releases, one timer follows the
// session's deadline, and pump() carries the session's decisions out.

#include <mqtt/detail/unsent_bytes.hpp>

#include <asio/post.hpp>
#include <asio/write.hpp>

namespace mqtt {
inline namespace v1 {
namespace detail {

// The read buffer starts small (an idle connection costs little), doubles
// while reads fill it and halves again after a run of small reads.
constexpr std::size_t min_read_buffer = 1024;
constexpr std::size_t max_read_buffer = 1024 * 1024;
constexpr unsigned small_reads_before_shrink = 16;

// Everything the faces ask of the executor arrives here.
MQTT_CLIENT_DECL void engine::on_wake_posted(std::uint64_t)
{
    wake_posted_.store(false, std::memory_order_release);
    bool connect_now;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connect_now = std::exchange(connect_requested_, false) && !shut_down_;
    }
    if (connect_now) start_connect();
    pump();
}

// After anything changed the session: close what it asks to close, write
// what it releases, follow its deadline, then run the callbacks.
MQTT_CLIENT_DECL void engine::pump()
{
    if (pumping_) return;
    pumping_ = true;
    struct unset {
        bool& flag;
        ~unset() { flag = false; }
    } pumping_guard{pumping_};  // also when an allocation throws
    for (;;) {
        std::optional<std::error_code> close;
        std::optional<clock::time_point> due;
        bool active;
        bool resume_reading = false;
        bool write = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            session_.config().logging = log_wanted();
            close = session_.take_close_request();
            if (!close && !writing_ && link_ == link_state::open) write = session_.take_write(chunks_, clock::now());
            // Buffers first, so that a publisher woken by a completion finds them ready.
            session_.take_recycled(recycled_);
            buffers_.give_back(recycled_);
            collect_events();
            active = session_.active();
            if (!active) session_ended();
            if (reading_paused_ && received_.size() < max_receive_queue_) {
                reading_paused_ = false;
                resume_reading = true;
            }
            due = session_.deadline();
            state_cv_.notify_all();
        }
        if (close) {
            link_down(*close);
            continue;
        }
        if (!active) {
            // The session ended (disconnect(), or a loss with no reconnect): no transport for it.
            if (link_ != link_state::down) close_transport();
            reconnect_timer_.cancel();
            finish_attempt(make_error_code(errc::disconnected));
        }
        if (resume_reading && link_ == link_state::open && !read_pending_) start_read(gen_);
        if (write) start_write();
        if (due && link_ == link_state::open && (!session_timer_armed_ || *due < session_timer_at_)) {
            session_timer_armed_ = true;
            session_timer_at_ = *due;
            session_timer_.expires_at(*due);
            session_timer_.async_wait(timer_task{shared_from_this(), &engine::on_session_timer, gen_});
        }
        break;
    }
    pumping_ = false;
    dispatch_events();
}

// Under mutex_: the session's events into the incoming buffer. Publishes
// complete here (a leaf lock each, no user code), so that a caller waiting
// for the session to settle finds every message_info completed.
MQTT_CLIENT_DECL void engine::collect_events()
{
    // get_if chains rather than std::visit: a visit's dispatch tables are a
    // measurable share of the compile time of every TU that uses the client.
    session_type::event_type ev;
    while (session_.poll(ev)) {
        if (auto* p = std::get_if<session::published<delivery_ref>>(&ev)) {
            p->token->complete(p->ec);
            if (p->token->op) {
                op_result r(p->ec, p->mid);
                events_.emplace_back(op_done{op_ptr(std::exchange(p->token->op, nullptr)), std::move(r)});
            }
            if (!p->ec && on_publish.loop_target()) events_.emplace_back(publish_done{p->mid});
        } else if (auto* m = std::get_if<message>(&ev)) {
            events_.emplace_back(std::move(*m));
        } else if (auto* c = std::get_if<session::connected>(&ev)) {
            if (c->return_code == 0) {
                connected_.store(true, std::memory_order_release);
                connect_timer_.cancel();
                servers_tried_ = 0;
                up_since_ = clock::now();
                attempt_done({}, c->session_present);
            }
            events_.emplace_back(*c);
        } else if (auto* d = std::get_if<session::disconnected>(&ev)) {
            if (!session_.active()) ended_by_ = d->ec;  // what disconnect() and loop_forever return
            events_.emplace_back(*d);
        } else if (auto* sub = std::get_if<session::subscribed>(&ev)) {
            for (auto it = subscribe_ops_.begin(); it != subscribe_ops_.end(); ++it) {
                if (it->first != sub->mid) continue;
                op_result r({}, sub->mid);
                r.granted_qos = sub->granted_qos;
                for (int q : sub->granted_qos)
                    if (q == 0x80) r.ec = make_error_code(errc::subscription_refused);
                events_.emplace_back(op_done{std::move(it->second), std::move(r)});
                subscribe_ops_.erase(it);
                break;
            }
            events_.emplace_back(std::move(*sub));
        } else if (auto* u = std::get_if<session::unsubscribed>(&ev)) {
            for (auto it = unsubscribe_ops_.begin(); it != unsubscribe_ops_.end(); ++it) {
                if (it->first != u->mid) continue;
                events_.emplace_back(op_done{std::move(it->second), op_result({}, u->mid)});
                unsubscribe_ops_.erase(it);
                break;
            }
            events_.emplace_back(*u);
        } else if (auto* line = std::get_if<session::log_line>(&ev)) {
            events_.emplace_back(std::move(*line));
        } else {
            events_.emplace_back(session::resubscribe_due{});
        }
    }
}

// Under mutex_, once the session is over: what waited on it completes.
MQTT_CLIENT_DECL void engine::session_ended()
{
    const std::error_code ended = ended_by_ ? ended_by_ : make_error_code(errc::disconnected);
    const auto fail_all = [&](auto& list, std::error_code ec, auto get) {
        for (auto& entry : list) {
            op_result r;
            r.ec = ec;
            events_.emplace_back(op_done{std::move(get(entry)), std::move(r)});
        }
        list.clear();
    };
    const auto self = [](op_ptr& op) -> op_ptr& { return op; };
    const auto second = [](std::pair<int, op_ptr>& p) -> op_ptr& { return p.second; };
    fail_all(disconnect_ops_, ended_by_, self);  // empty: the goodbye went out
    fail_all(subscribe_ops_, ended, second);
    fail_all(unsubscribe_ops_, ended, second);
    if (sessions_ended_ < sessions_begun_) {
        // A receive started after the end waits for the next session.
        sessions_ended_ = sessions_begun_;
        if (received_.empty()) fail_all(receive_ops_, ended, self);
    }
}

// async_write's completion condition: transfer_all, noting when bytes moved,
// since progress on a slow link counts as life for the keepalive.
struct write_progress {
    std::size_t* bytes;
    std::chrono::steady_clock::time_point* at;
    std::size_t operator()(const std::error_code& ec, std::size_t n) const
    {
        if (n > *bytes) {
            *bytes = n;
            *at = std::chrono::steady_clock::now();
        }
        return asio::transfer_all()(ec, n);
    }
};

MQTT_CLIENT_DECL void engine::start_write()
{
    write_buffers_.clear();
    for (const auto& c : chunks_) write_buffers_.push_back(asio::const_buffer(c.data, c.size));
    writing_ = true;
    write_progress_bytes_ = 0;
    write_progress_at_ = clock::now();
    asio::async_write(socket_, buffer_span{write_buffers_.data(), write_buffers_.data() + write_buffers_.size()},
                      write_progress{&write_progress_bytes_, &write_progress_at_},
                      io_task{shared_from_this(), &engine::on_write, gen_});
}

MQTT_CLIENT_DECL void engine::on_write(std::error_code ec, std::size_t, std::uint64_t)
{
    writing_ = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        session_.write_progress(write_progress_at_);
        session_.write_done(ec, clock::now());  // a late one of an older connection changes nothing
    }
    pump();
}

MQTT_CLIENT_DECL void engine::start_read(std::uint64_t gen)
{
    if (read_buffer_.empty()) read_buffer_.resize(min_read_buffer);
    read_pending_ = true;
    socket_.async_read_some(asio::buffer(read_buffer_), io_task{shared_from_this(), &engine::on_read, gen});
}

MQTT_CLIENT_DECL void engine::on_read(std::error_code ec, std::size_t n, std::uint64_t gen)
{
    if (gen != gen_) return;
    read_pending_ = false;
    if (ec) {
        link_down(ec == asio::error::eof ? make_error_code(errc::connection_lost) : ec);
        return pump();
    }
    const std::uint8_t* data = read_buffer_.data();
    const std::size_t got = n;
    std::optional<protocol::packet> packet;
    std::error_code decode_error;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const auto now = clock::now();
        session_.read_progress(now);
        while (n > 0) {
            const std::size_t used = decoder_.feed(data, n, packet, decode_error);
            data += used;
            n -= used;
            if (decode_error) break;
            if (packet) {
                session_.received(*packet, now);
                packet.reset();
            }
        }
    }
    if (decode_error) {
        log(log_level::err, "malformed packet from the broker: " + decode_error.message());
        link_down(decode_error);
        return pump();
    }
    resize_read_buffer(got);
    if (!reading_paused_) start_read(gen);
    pump();
}

// A read that filled the buffer left more behind: read bigger pieces from now
// on (fewer system calls). After a burst, give the memory back.
MQTT_CLIENT_DECL void engine::resize_read_buffer(std::size_t n)
{
    const std::size_t size = read_buffer_.size();
    if (n == size && size < max_read_buffer) {
        read_buffer_.resize(size * 2);
        small_reads_ = 0;
    } else if (size > min_read_buffer && n <= size / 4) {
        if (++small_reads_ >= small_reads_before_shrink) {
            read_buffer_ = std::vector<std::uint8_t>(size / 2);
            small_reads_ = 0;
        }
    } else {
        small_reads_ = 0;
    }
}

MQTT_CLIENT_DECL void engine::on_session_timer(std::uint64_t)
{
    session_timer_armed_ = false;
    // Bytes leaving the kernel's send queue are progress too (a slow link
    // drains a finished write long after it completed).
    if (const auto unsent = unsent_bytes(static_cast<int>(socket_.native_handle()))) {
        if (*unsent < unsent_at_last_tick_) write_progress_at_ = clock::now();
        unsent_at_last_tick_ = *unsent;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        session_.write_progress(write_progress_at_);
        // Not reading, because async_receive's queue is full: what the broker
        // sent waits in the kernel, and says nothing about the link.
        if (reading_paused_) session_.read_progress(clock::now());
        session_.tick(clock::now());
    }
    pump();
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
