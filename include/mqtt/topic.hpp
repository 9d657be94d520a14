#pragma once

// paho's topic_matches_sub: does a subscription filter match a topic name?

#include <mqtt/error.hpp>
#include <mqtt/protocol/topic_rules.hpp>

#include <string>
#include <string_view>
#include <system_error>

namespace mqtt {
inline namespace v1 {

// Returns whether `topic` matches the subscription filter `sub`, by the
// spec's rules ('+' one level, '#' the rest including the parent level, and
// "$..." topics not matched by a leading wildcard).
// An invalid filter sets ec to errc::invalid_topic_filter, an invalid topic
// name (empty, wildcards, bad UTF-8) to errc::invalid_topic; the result is
// then false. On success ec is cleared.
inline bool topic_matches_sub(std::string_view sub, std::string_view topic, std::error_code& ec) noexcept
{
    if (protocol::validate_topic_filter(sub)) {
        ec = errc::invalid_topic_filter;
        return false;
    }
    if (protocol::validate_topic_name(topic)) {
        ec = errc::invalid_topic;
        return false;
    }
    ec.clear();
    return protocol::topic_matches(sub, topic);
}

// As above, but throws mqtt::error (errc::invalid_topic_filter or
// errc::invalid_topic, what() naming the precise cause) for invalid input.
inline bool topic_matches_sub(std::string_view sub, std::string_view topic)
{
    // system_error appends ": <message of the errc>"; add the precise cause
    // only when it says more than that.
    const auto describe = [](const char* what, std::string_view arg, std::error_code cause, errc reported) {
        std::string text = std::string("topic_matches_sub: invalid ") + what + " \"" + std::string(arg) + "\"";
        if (cause != reported) text += " (" + cause.message() + ")";
        return text;
    };
    if (auto cause = protocol::validate_topic_filter(sub)) {
        throw error(errc::invalid_topic_filter, describe("subscription", sub, cause, errc::invalid_topic_filter));
    }
    if (auto cause = protocol::validate_topic_name(topic)) {
        throw error(errc::invalid_topic, describe("topic", topic, cause, errc::invalid_topic));
    }
    return protocol::topic_matches(sub, topic);
}

}  // namespace v1
}  // namespace mqtt
