#pragma once

// The loop's data path: batched writes out of the outgoing buffer, reads
// through the decoder, and the QoS 1/2 acknowledgement flows.

#include <algorithm>

namespace mqtt {
inline namespace v1 {
namespace detail {
// Packets taken from the outgoing buffer per gather write: bounds the
// latency of acks queued behind a burst.
constexpr std::size_t max_requests_per_write = 1024;
// The read buffer starts at 64 KiB and doubles while reads fill it.
constexpr std::size_t max_read_buffer = 1024 * 1024;
constexpr std::uint8_t disconnect_packet[2] = {0xE0, 0x00};
}  // namespace detail

inline void client::start_write()
{
    if (writing_ || link_ == link_state::down || link_ == link_state::opening) return;
    write_buffers_.clear();
    write_control_.swap(control_);
    if (!write_control_.empty()) write_buffers_.push_back(asio::buffer(write_control_));
    if (link_ == link_state::up) {
        for (auto& entry : inflight_) {
            if (entry.resend) {
                entry.resend = false;
                write_buffers_.push_back(asio::buffer(entry.bytes));
            }
        }
        std::lock_guard<std::mutex> lock(mutex_);
        while (!pending_.empty() && write_requests_.size() < detail::max_requests_per_write) {
            auto& next = pending_.front();
            const std::size_t size = next.bytes.size();
            if (next.kind == request_kind::publish && next.qos > 0) {
                if (inflight_.size() >= max_inflight_) break;  // the window is full; FIFO order holds
                // In flight from now on: its ack may be read before this write completes.
                inflight_.push_back(
                    inflight_publish{std::move(next.bytes), std::move(next.delivery), next.packet_id, next.qos});
                write_buffers_.push_back(asio::buffer(inflight_.back().bytes));
            } else {
                if (next.kind != request_kind::publish) awaiting_ack_[next.packet_id] = next.kind;
                write_requests_.push_back(std::move(next));
                write_buffers_.push_back(asio::buffer(write_requests_.back().bytes));
            }
            pending_bytes_ -= size;
            pending_.pop_front();
        }
        // disconnect() flushes: the goodbye goes once everything is written and acknowledged.
        if (disconnect_requested_ && pending_.empty() && inflight_.empty()) {
            closing_ = true;
            write_buffers_.push_back(asio::buffer(detail::disconnect_packet));
        }
    }
    if (write_buffers_.empty()) return;
    if (log_wanted()) {
        for (const auto& b : write_buffers_)
            protocol::describe_encoded(static_cast<const std::uint8_t*>(b.data()), b.size(),
                                       [this](std::string line) { log(log_level::debug, "Sending " + line); });
    }
    writing_ = true;
    asio::async_write(socket_, buffer_span{write_buffers_.data(), write_buffers_.data() + write_buffers_.size()},
                      [this, gen = gen_](std::error_code ec, std::size_t) { on_write(ec, gen); });
}

inline void client::on_write(std::error_code ec, std::uint64_t gen)
{
    writing_ = false;
    for (auto& b : retired_) recycled_.push_back(std::move(b));
    retired_.clear();
    write_control_.clear();
    const bool was_closing = std::exchange(closing_, false);
    if (ec || gen != gen_) {
        // Subscribe and unsubscribe go again on the next connection; a QoS 0
        // message may or may not have reached the broker, and is not sent twice.
        std::vector<detail::delivery_ref> failed;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto it = write_requests_.rbegin(); it != write_requests_.rend(); ++it) {
                if (it->kind == request_kind::publish) {
                    ids_.release(it->packet_id);
                    failed.push_back(std::move(it->delivery));
                } else {
                    awaiting_ack_.erase(it->packet_id);
                    pending_bytes_ += it->bytes.size();
                    pending_.push_front(std::move(*it));
                }
            }
        }
        write_requests_.clear();
        for (auto& d : failed) d->complete(make_error_code(errc::connection_lost));
        if (gen == gen_) connection_lost(ec);
        start_write();
        dispatch_events();
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& request : write_requests_)
            if (request.kind == request_kind::publish) ids_.release(request.packet_id);
    }
    // Buffers first: a publisher woken by the completion finds them ready.
    for (auto& request : write_requests_) recycled_.push_back(std::move(request.bytes));
    buffers_.give_back(recycled_);
    for (auto& request : write_requests_) {
        if (request.kind != request_kind::publish) continue;
        // Released right after completing, so the pool has it back by the
        // time the woken publisher asks for one.
        const auto delivery = std::move(request.delivery);
        delivery->complete({});
        events_.emplace_back(published_event{request.packet_id});
    }
    write_requests_.clear();
    last_write_ = clock::now();
    if (was_closing) {
        finish_disconnect({});
    } else {
        start_write();
    }
    dispatch_events();
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
        connection_lost(ec == asio::error::eof ? make_error_code(errc::connection_lost) : ec);
        dispatch_events();
        return;
    }
    // A read that filled the buffer left more behind: read bigger pieces
    // from now on (fewer system calls; large messages decode in place).
    const bool filled = n == read_buffer_.size();
    const std::uint8_t* data = read_buffer_.data();
    std::optional<protocol::packet> packet;
    const bool trace = log_wanted();
    while (n > 0 && gen == gen_) {
        std::error_code decode_error;
        const std::size_t used = decoder_.feed(data, n, packet, decode_error);
        data += used;
        n -= used;
        if (decode_error) {
            log(log_level::err, "malformed packet from the broker: " + decode_error.message());
            connection_lost(decode_error);
            break;
        }
        if (packet) {
            ping_outstanding_ = false;  // any packet shows the broker is alive
            last_read_ = clock::now();
            if (trace) log(log_level::debug, "Received " + protocol::describe(*packet));
            handle_packet(*packet);
            packet.reset();
        }
    }
    buffers_.give_back(recycled_);  // QoS 2 PUBLISHes' buffers, released at PUBREC
    if (filled && read_buffer_.size() < detail::max_read_buffer) read_buffer_.resize(read_buffer_.size() * 2);
    if (gen == gen_) start_read(gen);
    start_write();  // the acks just queued
    dispatch_events();
}

inline void client::handle_packet(protocol::packet& p)
{
    if (auto* ack = std::get_if<protocol::connack>(&p)) return handle_connack(*ack);
    if (link_ != link_state::up) return connection_lost(make_error_code(errc::unexpected_packet));
    std::visit(mqtt::detail::overloaded{
                   [&](protocol::publish& x) { handle_publish(x); },
                   [&](protocol::puback& x) { complete_publish(x.packet_id, 1, false); },
                   [&](protocol::pubrec& x) { handle_pubrec(x.packet_id); },
                   [&](protocol::pubrel& x) { handle_pubrel(x.packet_id); },
                   [&](protocol::pubcomp& x) { complete_publish(x.packet_id, 2, true); },
                   [&](protocol::suback& x) {
                       auto it = awaiting_ack_.find(x.packet_id);
                       if (it == awaiting_ack_.end() ||
                           (it->second != request_kind::subscribe && it->second != request_kind::resubscribe))
                           return log(log_level::warning, "SUBACK for unknown packet id " + std::to_string(x.packet_id));
                       const bool requested = it->second == request_kind::subscribe;
                       awaiting_ack_.erase(it);
                       release_packet_id(x.packet_id);
                       if (!requested) return;  // our own resubscription after a reconnect
                       events_.emplace_back(
                           subscribed_event{x.packet_id, std::vector<int>(x.return_codes.begin(), x.return_codes.end())});
                   },
                   [&](protocol::unsuback& x) {
                       auto it = awaiting_ack_.find(x.packet_id);
                       if (it == awaiting_ack_.end() || it->second != request_kind::unsubscribe)
                           return log(log_level::warning, "UNSUBACK for unknown packet id " + std::to_string(x.packet_id));
                       awaiting_ack_.erase(it);
                       release_packet_id(x.packet_id);
                       events_.emplace_back(unsubscribed_event{x.packet_id});
                   },
                   [&](protocol::pingresp&) {},
                   [&](auto&) { connection_lost(make_error_code(errc::unexpected_packet)); },
               },
               p);
}

inline void client::handle_publish(protocol::publish& p)
{
    const std::uint16_t id = p.packet_id;
    message m{std::move(p.topic), std::move(p.payload), p.qos, p.retain, p.dup, id};
    switch (p.qos) {
    case 0:
        events_.emplace_back(std::move(m));
        break;
    case 1:
        protocol::encode(protocol::puback{id}, control_);
        events_.emplace_back(std::move(m));
        break;
    default:
        // Held until PUBREL: a resent PUBLISH (DUP) finds it here and is not delivered twice.
        held_qos2_.try_emplace(id, std::move(m));
        protocol::encode(protocol::pubrec{id}, control_);
        break;
    }
}

inline void client::handle_pubrel(std::uint16_t id)
{
    auto it = held_qos2_.find(id);
    if (it != held_qos2_.end()) {
        events_.emplace_back(std::move(it->second));
        held_qos2_.erase(it);
    }
    protocol::encode(protocol::pubcomp{id}, control_);
}

inline void client::handle_pubrec(std::uint16_t id)
{
    auto it = std::find_if(inflight_.begin(), inflight_.end(), [id](const auto& e) { return e.packet_id == id; });
    if (it != inflight_.end() && it->qos == 2 && !it->released) {
        it->released = true;
        // The PUBLISH is delivered; from now on only PUBREL is ever resent.
        (writing_ ? retired_ : recycled_).push_back(std::move(it->bytes));
        it->bytes = {};
    }
    protocol::encode(protocol::pubrel{id}, control_);
}

inline void client::complete_publish(std::uint16_t id, std::uint8_t qos, bool from_pubcomp)
{
    auto it = std::find_if(inflight_.begin(), inflight_.end(), [id](const auto& e) { return e.packet_id == id; });
    if (it == inflight_.end() || it->qos != qos || (from_pubcomp && !it->released)) {
        log(log_level::warning, std::string(from_pubcomp ? "PUBCOMP" : "PUBACK") + " for unknown packet id " +
                                    std::to_string(id));
        return;
    }
    if (writing_) {
        retired_.push_back(std::move(it->bytes));
    } else {
        recycled_.push_back(std::move(it->bytes));
        buffers_.give_back(recycled_);  // before the completion wakes a publisher
    }
    auto delivery = std::move(it->delivery);
    inflight_.erase(it);
    release_packet_id(id);
    delivery->complete({});
    events_.emplace_back(published_event{id});
}

inline void client::release_packet_id(std::uint16_t id)
{
    std::lock_guard<std::mutex> lock(mutex_);
    ids_.release(id);
}

}  // namespace v1
}  // namespace mqtt
