#pragma once

// machine's output side: what goes into each gather write (resends first,
// then the queue through the in-flight window) and what a finished write
// changes. Included by machine.hpp only.

namespace mqtt {
inline namespace v1 {
namespace session {

template <class Token>
bool machine<Token>::take_write(std::vector<chunk>& out, time_point now)
{
    out.clear();
    if (writing_ || close_request_ || state_ == link_state::idle || state_ == link_state::down) return false;
    write_control_.swap(control_);
    if (!write_control_.empty()) out.push_back({write_control_.data(), write_control_.size()});
    if (state_ == link_state::up || state_ == link_state::disconnecting) {
        for (auto& r : awaiting_) take_resend(r, out);
        for (auto& r : window_) take_resend(r, out);
        take_from_queue(out);
        if (state_ == link_state::disconnecting && (flushed() || now >= disconnect_deadline_)) {
            goodbye_pending_ = true;
            state_ = link_state::closing;
        }
    }
    if (goodbye_pending_ && state_ == link_state::closing) {
        static constexpr std::uint8_t disconnect_packet[2] = {0xE0, 0x00};
        out.push_back({disconnect_packet, sizeof disconnect_packet});
        goodbye_pending_ = false;
        goodbye_in_write_ = true;
    }
    if (out.empty()) return false;
    writing_ = true;
    write_gen_ = link_gen_;
    if (settings_.logging)
        for (const auto& c : out)
            protocol::describe_encoded(c.data, c.size,
                                       [this](std::string line) { log(log_level::debug, "Sending " + line); });
    return true;
}

template <class Token>
void machine<Token>::write_done(std::error_code ec, time_point now)
{
    writing_ = false;
    write_control_.clear();
    for (auto& b : retired_) recycled_.push_back(std::move(b));
    retired_.clear();
    const std::error_code qos0_result = ec ? make_error_code(errc::connection_lost) : std::error_code{};
    for (auto& r : writing_qos0_) {
        events_.emplace_back(published<Token>{r.mid, std::move(r.token), qos0_result});
        recycled_.push_back(std::move(r.bytes));
    }
    writing_qos0_.clear();
    const bool goodbye = std::exchange(goodbye_in_write_, false);
    if (write_gen_ != link_gen_ || state_ == link_state::idle || state_ == link_state::down) return;
    if (ec) {
        if (!close_request_) close_request_ = ec;
        return;
    }
    keepalive_.written(now);
    if (goodbye) {
        goodbye_sent_ = true;
        if (!close_request_) close_request_ = std::error_code{};
    }
}

template <class Token>
void machine<Token>::take_resend(request<Token>& r, std::vector<chunk>& out)
{
    if (!r.resend) return;
    r.resend = false;
    out.push_back({r.bytes.data(), r.bytes.size()});
}

template <class Token>
void machine<Token>::take_from_queue(std::vector<chunk>& out)
{
    for (std::size_t taken = 0; !queue_.empty() && taken < max_requests_per_write; ++taken) {
        request<Token>& r = queue_.front();
        if (r.kind == request_kind::publish && r.qos == 0) {
            const std::size_t size = r.bytes.size();
            writing_qos0_.push_back(std::move(r));
            out.push_back({writing_qos0_.back().bytes.data(), size});
            queue_bytes_ -= size;
            queue_.pop_front();
            continue;
        }
        if (r.kind == request_kind::publish && inflight() >= settings_.max_inflight) {
            // FIFO holds for publishes; requests behind them need not wait.
            take_requests_behind(out, taken);
            break;
        }
        if (!send_with_id(r, out)) break;  // every id is in use: wait for an ack
        queue_.pop_front();
    }
}

template <class Token>
void machine<Token>::take_requests_behind(std::vector<chunk>& out, std::size_t taken)
{
    if (queued_requests_ == 0) return;
    for (auto it = queue_.begin(); it != queue_.end() && taken < max_requests_per_write;) {
        if (it->kind == request_kind::publish) {
            ++it;
            continue;
        }
        if (!send_with_id(*it, out)) return;
        it = queue_.erase(it);
        ++taken;
    }
}

template <class Token>
bool machine<Token>::send_with_id(request<Token>& r, std::vector<chunk>& out)
{
    const auto id = ids_.allocate();
    if (!id) return false;
    const std::size_t size = r.bytes.size();
    r.packet_id = *id;
    write_packet_id(r.bytes, r.id_offset, *id);
    if (r.kind != request_kind::publish) --queued_requests_;
    auto& list = r.kind == request_kind::publish ? window_ : awaiting_;
    list.push_back(std::move(r));
    out.push_back({list.back().bytes.data(), size});
    queue_bytes_ -= size;
    return true;
}

}  // namespace session
}  // namespace v1
}  // namespace mqtt
