#pragma once

// Bytes from the network -> whole packets, in whatever pieces they arrive.

#include <mqtt/error.hpp>
#include <mqtt/protocol/decode_packet.hpp>
#include <mqtt/protocol/packet.hpp>
#include <mqtt/protocol/remaining_length.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>

namespace mqtt {
inline namespace v1 {
namespace protocol {

// Incremental decoder for one byte stream. Accepts any split of the input,
// down to one byte at a time. Bounded: a packet larger than the maximum is
// refused from its header, before anything is allocated for it.
//
// Usage:
//   while (size > 0) {
//       std::size_t n = d.feed(p, size, out, ec);
//       p += n; size -= n;
//       if (ec) { /* close the connection */ break; }
//       if (out) handle(*out);
//   }
//
// Not thread-safe: one decoder per connection, used by the loop thread.
class decoder {
public:
    // `max_packet_size` counts the whole packet, fixed header included.
    explicit decoder(std::size_t max_packet_size = max_remaining_length + 5) noexcept
        : max_packet_size_(max_packet_size)
    {
    }

    // Applies from the next packet whose remaining length is not known yet.
    void set_max_packet_size(std::size_t max_packet_size) noexcept { max_packet_size_ = max_packet_size; }
    std::size_t max_packet_size() const noexcept { return max_packet_size_; }

    // Consumes bytes until one packet completes, an error occurs, or the
    // input runs out, and returns how many it consumed. `out` is reset on
    // entry and holds the packet when one completed. On error ec is set (and
    // stays set on every later call: the decoder refuses input until reset()).
    std::size_t feed(const std::uint8_t* data, std::size_t size, std::optional<packet>& out, std::error_code& ec)
    {
        out.reset();
        if (error_) {
            ec = error_;
            return 0;
        }
        ec.clear();

        std::size_t used = 0;
        for (;;) {
            if (!header_complete_) {
                if (used == size) return used;
                header_[header_size_++] = data[used++];
                if (!read_header(ec)) return used;
                if (!header_complete_) continue;
            }
            const std::size_t available = size - used;
            // Fast path (the usual case on a socket read): the whole body is
            // in this chunk, so decode it in place without copying it first.
            if (body_.empty() && available >= remaining_) {
                out = decode_packet(header_[0], data + used, remaining_, ec);
                used += remaining_;
                return finish_packet(ec, used);
            }
            if (available == 0) return used;
            // Sized once for the whole body, so a large packet is not copied
            // again at every growth step; up to a bound only, since the
            // length comes from the network and the bytes may never follow.
            if (body_.empty()) body_.reserve(std::min(remaining_, up_front_reserve));
            const std::size_t take = std::min(available, remaining_ - body_.size());
            body_.insert(body_.end(), data + used, data + used + take);
            used += take;
            if (body_.size() == remaining_) {
                out = decode_packet(header_[0], body_.data(), body_.size(), ec);
                return finish_packet(ec, used);
            }
        }
    }

    // Forgets any partial packet and a previous error, e.g. for a new
    // connection.
    void reset() noexcept
    {
        error_.clear();
        start_next_packet();
    }

    bool failed() const noexcept { return static_cast<bool>(error_); }

private:
    // The accumulation buffer keeps its capacity between packets, except
    // after an unusually large one: a stream of 64 KiB messages reuses it.
    static constexpr std::size_t retained_body_capacity = 1024 * 1024;
    static constexpr std::size_t up_front_reserve = 1024 * 1024;

    // Called after each header byte; false on error.
    bool read_header(std::error_code& ec)
    {
        if (header_size_ == 1) {
            ec = detail::check_first_byte(header_[0]);
            return !ec || fail(ec);
        }
        std::size_t length = 0;
        const std::size_t length_bytes = decode_remaining_length(header_ + 1, header_size_ - 1, length, ec);
        if (ec) return fail(ec);
        if (length_bytes == 0) return true;  // more length bytes to come

        if ((ec = detail::check_remaining_length(header_[0], length))) return fail(ec);
        // header_size_ + length cannot overflow: length < 2^28.
        if (header_size_ + length > max_packet_size_) {
            ec = errc::packet_too_large;
            return fail(ec);
        }
        remaining_ = length;
        header_complete_ = true;
        return true;
    }

    std::size_t finish_packet(const std::error_code& ec, std::size_t used)
    {
        if (ec) {
            fail(ec);
        } else {
            start_next_packet();
        }
        return used;
    }

    bool fail(const std::error_code& ec) noexcept
    {
        error_ = ec;
        return false;
    }

    void start_next_packet() noexcept
    {
        header_size_ = 0;
        header_complete_ = false;
        remaining_ = 0;
        if (body_.capacity() > retained_body_capacity) {
            byte_buffer().swap(body_);
        } else {
            body_.clear();
        }
    }

    std::size_t max_packet_size_;
    std::error_code error_;
    std::uint8_t header_[1 + max_remaining_length_bytes] = {};
    std::size_t header_size_ = 0;
    bool header_complete_ = false;
    std::size_t remaining_ = 0;  // body size of the current packet
    byte_buffer body_;           // partial body, only when it spans chunks
};

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
