#pragma once

// The loop's I/O around the session: reads go through the decoder into the
// session, writes take what the session releases, one timer follows the
// session's deadline, and pump() carries the session's decisions out.

namespace mqtt {
inline namespace v1 {
namespace detail {
// The read buffer starts at 64 KiB and doubles while reads fill it.
constexpr std::size_t max_read_buffer = 1024 * 1024;
}  // namespace detail

// After anything changed the session: close what it asks to close, write
// what it releases, follow its deadline, then run the callbacks.
inline void client::pump()
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
        if (write) start_write();
        if (due && link_ == link_state::open && (!session_timer_armed_ || *due < session_timer_at_)) {
            session_timer_armed_ = true;
            session_timer_at_ = *due;
            session_timer_.expires_at(*due);
            session_timer_.async_wait(timer_task{this, &client::on_session_timer, gen_});
        }
        break;
    }
    pumping_ = false;
    dispatch_events();
}

// Under mutex_: the session's events into the incoming buffer. Publishes
// complete here (a leaf lock each, no user code), so that a caller waiting
// for the session to settle finds every message_info completed.
inline void client::collect_events()
{
    session::machine<detail::delivery_ref>::event_type ev;
    while (session_.poll(ev)) {
        std::visit(detail::overloaded{
                       [&](session::published<detail::delivery_ref>& p) {
                           p.token->complete(p.ec);
                           if (!p.ec && on_publish.loop_target()) events_.emplace_back(publish_done{p.mid});
                       },
                       [&](session::connected& c) {
                           if (c.return_code == 0) {
                               // The attempt succeeded.
                               connected_.store(true, std::memory_order_release);
                               connect_timer_.cancel();
                               servers_tried_ = 0;
                               up_since_ = clock::now();
                               attempt_finished_ = attempt_current_;
                               attempt_result_.clear();
                           }
                           events_.emplace_back(c);
                       },
                       [&](session::disconnected& d) {
                           if (!session_.active()) ended_by_ = d.ec;  // what disconnect() and loop_forever return
                           events_.emplace_back(d);
                       },
                       [&](auto& other) { events_.emplace_back(std::move(other)); },
                   },
                   ev);
    }
}

namespace detail {
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
}  // namespace detail

inline void client::start_write()
{
    write_buffers_.clear();
    for (const auto& c : chunks_) write_buffers_.push_back(asio::const_buffer(c.data, c.size));
    writing_ = true;
    write_progress_bytes_ = 0;
    write_progress_at_ = clock::now();
    asio::async_write(socket_, buffer_span{write_buffers_.data(), write_buffers_.data() + write_buffers_.size()},
                      detail::write_progress{&write_progress_bytes_, &write_progress_at_},
                      [this, gen = gen_](std::error_code ec, std::size_t) { on_write(ec, gen); });
}

inline void client::on_write(std::error_code ec, std::uint64_t)
{
    writing_ = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        session_.write_progress(write_progress_at_);
        session_.write_done(ec, clock::now());  // a late one of an older connection changes nothing
    }
    pump();
}

inline void client::start_read(std::uint64_t gen)
{
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [this, gen](std::error_code ec, std::size_t n) { on_read(ec, n, gen); });
}

inline void client::on_read(std::error_code ec, std::size_t n, std::uint64_t gen)
{
    if (gen != gen_) return;
    if (ec) {
        link_down(ec == asio::error::eof ? make_error_code(errc::connection_lost) : ec);
        return pump();
    }
    // A read that filled the buffer left more behind: read bigger pieces
    // from now on (fewer system calls; large messages decode in place).
    const bool filled = n == read_buffer_.size();
    const std::uint8_t* data = read_buffer_.data();
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
    if (filled && read_buffer_.size() < detail::max_read_buffer) read_buffer_.resize(read_buffer_.size() * 2);
    start_read(gen);
    pump();
}

inline void client::on_session_timer(std::uint64_t)
{
    session_timer_armed_ = false;
    // Bytes leaving the kernel's send queue are progress too (a slow link
    // drains a finished write long after it completed).
    if (const auto unsent = detail::unsent_bytes(static_cast<int>(socket_.native_handle()))) {
        if (*unsent < unsent_at_last_tick_) write_progress_at_ = clock::now();
        unsent_at_last_tick_ = *unsent;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        session_.write_progress(write_progress_at_);
        session_.tick(clock::now());
    }
    pump();
}

}  // namespace v1
}  // namespace mqtt
