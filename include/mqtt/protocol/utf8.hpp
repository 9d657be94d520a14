#pragma once

// The rules every MQTT "UTF-8 encoded string" obeys (MQTT 3.1.1, 1.5.3).

#include <mqtt/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>

namespace mqtt {
inline namespace v1 {
namespace protocol {

// The 2-byte length prefix caps every string.
constexpr std::size_t max_string_length = 65535;

namespace detail {

// True when none of the 8 bytes has its top bit set and none is zero:
// the whole word is plain ASCII without U+0000.
inline bool is_ascii_word_without_nul(const unsigned char* p) noexcept
{
    std::uint64_t word = 0;
    std::memcpy(&word, p, sizeof word);  // no alignment or aliasing assumptions
    constexpr std::uint64_t high_bits = 0x8080808080808080u;
    constexpr std::uint64_t low_bits = 0x0101010101010101u;
    const bool has_zero_byte = ((word - low_bits) & ~word & high_bits) != 0;
    return (word & high_bits) == 0 && !has_zero_byte;
}

inline bool is_continuation(unsigned char c) noexcept
{
    return (c & 0xC0u) == 0x80u;
}

}  // namespace detail

// Checks one MQTT string: at most 65535 bytes, well-formed UTF-8 (no
// overlong forms, no surrogates, nothing above U+10FFFF, no truncated
// sequence) and no U+0000. Control characters and non-characters are
// allowed: the spec only says SHOULD NOT for them.
inline std::error_code validate_mqtt_string(std::string_view s) noexcept
{
    if (s.size() > max_string_length) return errc::string_too_long;

    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* const end = p + s.size();
    while (p != end) {
        // Fast path: topics and client ids are almost always ASCII.
        if (end - p >= 8 && detail::is_ascii_word_without_nul(p)) {
            p += 8;
            continue;
        }
        const unsigned char c = *p;
        if (c < 0x80u) {
            if (c == 0) return errc::utf8_null_character;
            ++p;
            continue;
        }
        // Lead byte: sequence length and the allowed range of the second
        // byte, which is where overlongs, surrogates and > U+10FFFF show
        // (Unicode 15, table 3-7).
        std::size_t length = 0;
        unsigned char second_min = 0x80u;
        unsigned char second_max = 0xBFu;
        if (c >= 0xC2u && c <= 0xDFu) {
            length = 2;
        } else if (c >= 0xE0u && c <= 0xEFu) {
            length = 3;
            if (c == 0xE0u) second_min = 0xA0u;  // overlong below U+0800
            if (c == 0xEDu) second_max = 0x9Fu;  // U+D800..U+DFFF surrogates
        } else if (c >= 0xF0u && c <= 0xF4u) {
            length = 4;
            if (c == 0xF0u) second_min = 0x90u;  // overlong below U+10000
            if (c == 0xF4u) second_max = 0x8Fu;  // above U+10FFFF
        } else {
            return errc::invalid_utf8;  // continuation byte, C0/C1 overlong, F5..FF
        }
        if (static_cast<std::size_t>(end - p) < length) return errc::invalid_utf8;
        if (p[1] < second_min || p[1] > second_max) return errc::invalid_utf8;
        for (std::size_t i = 2; i < length; ++i) {
            if (!detail::is_continuation(p[i])) return errc::invalid_utf8;
        }
        p += length;
    }
    return {};
}

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
