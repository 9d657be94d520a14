#pragma once

// Splits a byte stream into MQTT frames by their length fields alone. Each
// frame's first few body bytes are kept (enough for a PUBLISH's topic and
// packet id, or an ack's id); the rest of the body is skipped, never copied.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace bench::wire {

struct frame {
    std::uint8_t type_and_flags;
    std::size_t body_size;
    const std::uint8_t* head;  // the first min(body_size, head_capacity) body bytes
    std::size_t head_size;

    std::uint8_t type() const { return type_and_flags >> 4; }
    int qos() const { return (type_and_flags >> 1) & 0x03; }
};

class frame_scanner {
public:
    static constexpr std::size_t head_capacity = 256;

    // Calls on_frame(const frame&) for every frame completed by these bytes.
    template <class OnFrame>
    void feed(const std::uint8_t* data, std::size_t n, OnFrame&& on_frame)
    {
        while (n > 0) {
            switch (state_) {
            case state::type:
                type_and_flags_ = *data++;
                --n;
                body_size_ = 0;
                length_shift_ = 0;
                state_ = state::length;
                break;
            case state::length: {
                const std::uint8_t digit = *data++;
                --n;
                body_size_ |= static_cast<std::size_t>(digit & 0x7f) << length_shift_;
                length_shift_ += 7;
                if (digit & 0x80) {
                    if (length_shift_ > 21) throw std::runtime_error("malformed remaining length");
                    break;
                }
                body_seen_ = 0;
                head_size_ = 0;
                state_ = state::body;
                if (body_size_ == 0) finish(on_frame);
                break;
            }
            case state::body: {
                const std::size_t take = std::min(n, body_size_ - body_seen_);
                if (head_size_ < head_capacity) {
                    const std::size_t keep = std::min(take, head_capacity - head_size_);
                    std::copy(data, data + keep, head_.begin() + static_cast<std::ptrdiff_t>(head_size_));
                    head_size_ += keep;
                }
                body_seen_ += take;
                data += take;
                n -= take;
                if (body_seen_ == body_size_) finish(on_frame);
                break;
            }
            }
        }
    }

private:
    enum class state { type, length, body };

    template <class OnFrame>
    void finish(OnFrame& on_frame)
    {
        state_ = state::type;
        on_frame(frame{type_and_flags_, body_size_, head_.data(), head_size_});
    }

    state state_ = state::type;
    std::uint8_t type_and_flags_ = 0;
    std::size_t body_size_ = 0;
    unsigned length_shift_ = 0;
    std::size_t body_seen_ = 0;
    std::array<std::uint8_t, head_capacity> head_{};
    std::size_t head_size_ = 0;
};

// The packet id of an ack, or of a QoS 1/2 PUBLISH (after its topic).
inline std::uint16_t packet_id_of(const frame& f)
{
    std::size_t at = 0;
    if (f.type() == 3) {
        if (f.head_size < 2) throw std::runtime_error("PUBLISH too short for its topic");
        at = 2 + (static_cast<std::size_t>(f.head[0]) << 8 | f.head[1]);
    }
    if (at + 2 > f.head_size) throw std::runtime_error("frame too short for a packet id");
    return static_cast<std::uint16_t>(f.head[at] << 8 | f.head[at + 1]);
}

}  // namespace bench::wire
