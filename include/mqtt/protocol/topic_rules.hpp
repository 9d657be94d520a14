#pragma once

// Topic names, topic filters and how they match (MQTT 3.1.1, 4.7).

#include <mqtt/error.hpp>
#include <mqtt/protocol/utf8.hpp>

#include <cstddef>
#include <string_view>
#include <system_error>

namespace mqtt {
inline namespace v1 {
namespace protocol {

// A topic name (what PUBLISH carries): non-empty, a valid MQTT string, no
// wildcard characters. String errors keep their own errc (invalid_utf8, ...),
// every other violation is errc::invalid_topic.
inline std::error_code validate_topic_name(std::string_view topic) noexcept
{
    if (topic.empty()) return errc::invalid_topic;
    if (auto ec = validate_mqtt_string(topic)) return ec;
    if (topic.find_first_of("+#") != std::string_view::npos) return errc::invalid_topic;
    return {};
}

// A topic filter (what SUBSCRIBE carries): non-empty, a valid MQTT string,
// '+' only as a whole level, '#' only as the whole last level. String errors
// keep their own errc, every other violation is errc::invalid_topic_filter.
inline std::error_code validate_topic_filter(std::string_view filter) noexcept
{
    if (filter.empty()) return errc::invalid_topic_filter;
    if (auto ec = validate_mqtt_string(filter)) return ec;
    std::size_t level_begin = 0;
    for (;;) {
        std::size_t level_end = filter.find('/', level_begin);
        const bool last = level_end == std::string_view::npos;
        if (last) level_end = filter.size();
        const auto level = filter.substr(level_begin, level_end - level_begin);
        if (level.size() > 1 && level.find_first_of("+#") != std::string_view::npos) {
            return errc::invalid_topic_filter;  // "a+" or "#b": wildcard inside a level
        }
        if (level == "#" && !last) return errc::invalid_topic_filter;
        if (last) return {};
        level_begin = level_end + 1;
    }
}

// True when `topic` matches `filter`. '+' matches exactly one level, even an
// empty one; a trailing '#' matches any number of levels including none, so
// "a/#" matches "a". Topics starting with '$' (like $SYS) are reserved for
// the server and are not matched by a filter starting with a wildcard.
// Both arguments are assumed valid (see the validate_* functions); for
// invalid input the answer is unspecified but the call is safe.
inline bool topic_matches(std::string_view filter, std::string_view topic) noexcept
{
    if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
        (filter.front() == '+' || filter.front() == '#')) {
        return false;
    }
    std::size_t filter_pos = 0;
    std::size_t topic_pos = 0;
    bool topic_exhausted = false;
    for (;;) {
        std::size_t filter_end = filter.find('/', filter_pos);
        const bool filter_last = filter_end == std::string_view::npos;
        if (filter_last) filter_end = filter.size();
        const auto filter_level = filter.substr(filter_pos, filter_end - filter_pos);

        if (filter_level == "#") return true;  // the rest, including the parent level
        if (topic_exhausted) return false;

        std::size_t topic_end = topic.find('/', topic_pos);
        const bool topic_last = topic_end == std::string_view::npos;
        if (topic_last) topic_end = topic.size();
        const auto topic_level = topic.substr(topic_pos, topic_end - topic_pos);

        if (filter_level != "+" && filter_level != topic_level) return false;
        if (filter_last) return topic_last;

        filter_pos = filter_end + 1;
        if (topic_last) {
            topic_exhausted = true;
        } else {
            topic_pos = topic_end + 1;
        }
    }
}

}  // namespace protocol
}  // namespace v1
}  // namespace mqtt
