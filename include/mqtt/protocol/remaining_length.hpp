#pragma once

// The fixed header's Remaining Length: 7 bits per byte, low groups first,
// top bit = "more bytes follow", at most 4 bytes (MQTT 3.1.1, 2.2.3).

#include <mqtt/error.hpp>
#include <mqtt/protocol/packet.hpp>

#include <cstddef>
#include <cstdint>
#include <system_error>

namespace mqtt {
inline namespace v1 {
namespace protocol {

constexpr std::size_t max_remaining_length_bytes = 4;

// Bytes the encoding of `length` takes: 1 to 4 for valid lengths. Counts
// exactly what encode_remaining_length writes for any value, so sizes
// computed with it always match what is written.
constexpr std::size_t remaining_length_size(std::size_t length) noexcept
{
    std::size_t size = 1;
    while (length >= 128) {
        length /= 128;
        ++size;
    }
    return size;
}

// Appends the encoding of `length`. Precondition: length <= max_remaining_length.
inline void encode_remaining_length(std::size_t length, byte_buffer& out)
{
    do {
        auto byte = static_cast<std::uint8_t>(length % 128);
        length /= 128;
        if (length > 0) byte = static_cast<std::uint8_t>(byte | 0x80u);
        out.push_back(byte);
    } while (length > 0);
}

// Decodes a remaining-length field at the start of [data, data + size).
// Returns the number of bytes it occupies (1 to 4) and sets `length`; returns
// 0 when the input ends before the field does. A 4th byte that still has
// the continuation bit sets errc::malformed_remaining_length (and returns 0).
// Non-minimal encodings (0x80 0x00 for 0) are accepted, as the spec does
// not forbid them.
inline std::size_t decode_remaining_length(const std::uint8_t* data, std::size_t size, std::size_t& length,
                                           std::error_code& ec) noexcept
{
    ec.clear();
    std::size_t value = 0;
    for (std::size_t i = 0; i < max_remaining_length_bytes; ++i) {
        if (i == size) return 0;
        value |= static_cast<std::size_t>(data[i] & 0x7Fu) << (7 * i);
        if ((data[i] & 0x80u) == 0) {
            length = value;
            return i + 1;
        }
    }
    ec = errc::malformed_remaining_length;
    return 0;
}

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
