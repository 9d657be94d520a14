// Topic name and topic filter validation.
// topic_rules.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/protocol/topic_rules.hpp>

#include "protocol_test_util.hpp"

#include <string>

using mqtt::errc;
using mqtt::protocol::validate_topic_filter;
using mqtt::protocol::validate_topic_name;

TEST_CASE("Valid topic names", "[topic]")
{
    for (const char* name : {"a", "/", "a/b", "/a", "a/", "a//b", "$SYS/broker/load", " ", "caf\xc3\xa9/\xe2\x82\xac"}) {
        CAPTURE(name);
        CHECK_FALSE(validate_topic_name(name));
    }
    CHECK_FALSE(validate_topic_name(std::string(65535, 't')));
}

TEST_CASE("Invalid topic names", "[topic]")
{
    for (const char* name : {"", "+", "#", "a/+", "a/#", "a+b", "a/b#", "+/a"}) {
        CAPTURE(name);
        CHECK(validate_topic_name(name) == errc::invalid_topic);
    }
    CHECK(validate_topic_name("a/\xff") == errc::invalid_utf8);
    CHECK(validate_topic_name(std::string("a\0b", 3)) == errc::utf8_null_character);
    CHECK(validate_topic_name(std::string(65536, 't')) == errc::string_too_long);
}

TEST_CASE("Valid topic filters", "[topic]")
{
    for (const char* filter :
         {"#", "+", "a", "/", "//", "a/#", "+/+", "/+", "+/", "a/+/b", "+/#", "$SYS/#", "a/b/c/#", "/#", "+/+/+"}) {
        CAPTURE(filter);
        CHECK_FALSE(validate_topic_filter(filter));
    }
}

TEST_CASE("Invalid topic filters", "[topic]")
{
    for (const char* filter : {"", "a#", "#a", "#/a", "a/#/b", "##", "a+", "+a", "++", "a/b+/c", "a/#b", "#/", "a/+#"}) {
        CAPTURE(filter);
        CHECK(validate_topic_filter(filter) == errc::invalid_topic_filter);
    }
    CHECK(validate_topic_filter("a/\xc3") == errc::invalid_utf8);
    CHECK(validate_topic_filter(std::string("#\0", 2)) == errc::utf8_null_character);
    CHECK(validate_topic_filter(std::string(65536, '+')) == errc::string_too_long);
}
