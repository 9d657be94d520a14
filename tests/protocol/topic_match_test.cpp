// Topic matching: the spec's examples, $SYS rules, and paho's
// topic_matches_sub with its error reporting.
// topic.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/topic.hpp>

#include "protocol_test_util.hpp"

#include <string>

using mqtt::errc;
using mqtt::topic_matches_sub;
using mqtt::protocol::topic_matches;

TEST_CASE("Multi-level wildcard: the spec's examples (4.7.1.2)", "[topic][match]")
{
    CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
    CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
    CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    CHECK(topic_matches("sport/#", "sport"));  // '#' includes the parent level
    CHECK(topic_matches("#", "sport/tennis"));
    CHECK_FALSE(topic_matches("sport/tennis/player1/#", "sport/tennis/player2"));
    CHECK_FALSE(topic_matches("sport/tennis/#", "sport"));
}

TEST_CASE("Single-level wildcard: the spec's examples (4.7.1.3)", "[topic][match]")
{
    CHECK(topic_matches("sport/tennis/+", "sport/tennis/player1"));
    CHECK(topic_matches("sport/tennis/+", "sport/tennis/player2"));
    CHECK_FALSE(topic_matches("sport/tennis/+", "sport/tennis/player1/ranking"));
    CHECK_FALSE(topic_matches("sport/+", "sport"));
    CHECK(topic_matches("sport/+", "sport/"));  // '+' matches an empty level
    CHECK(topic_matches("+/+", "/finance"));
    CHECK(topic_matches("/+", "/finance"));
    CHECK_FALSE(topic_matches("+", "/finance"));
    CHECK(topic_matches("a/+/c", "a//c"));
    CHECK(topic_matches("+/+/+", "//"));
    CHECK(topic_matches("sport/+/player1", "sport/tennis/player1"));
}

TEST_CASE("Topics starting with $ are not matched by a leading wildcard (4.7.2)", "[topic][match]")
{
    CHECK_FALSE(topic_matches("#", "$SYS"));
    CHECK_FALSE(topic_matches("#", "$SYS/broker/uptime"));
    CHECK_FALSE(topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
    CHECK_FALSE(topic_matches("+", "$SYS"));
    CHECK(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
    CHECK(topic_matches("$SYS/#", "$SYS"));
    CHECK(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    // Only the first level is special.
    CHECK(topic_matches("a/#", "a/$b"));
    CHECK(topic_matches("a/+", "a/$b"));
}

TEST_CASE("Exact filters compare level by level", "[topic][match]")
{
    CHECK(topic_matches("a/b", "a/b"));
    CHECK_FALSE(topic_matches("a/b", "a/b/"));
    CHECK_FALSE(topic_matches("a/b/", "a/b"));
    CHECK_FALSE(topic_matches("/a", "a"));
    CHECK_FALSE(topic_matches("a/bc", "a/b"));
    CHECK_FALSE(topic_matches("A", "a"));  // case-sensitive
}

TEST_CASE("paho topic_matches_sub: matching examples", "[topic][match][paho]")
{
    CHECK(topic_matches_sub("foo/bar", "foo/bar"));
    CHECK(topic_matches_sub("foo/+", "foo/bar"));
    CHECK(topic_matches_sub("foo/+/baz", "foo/bar/baz"));
    CHECK(topic_matches_sub("foo/+/#", "foo/bar/baz"));
    CHECK(topic_matches_sub("A/B/+/#", "A/B/B/C"));
    CHECK(topic_matches_sub("#", "foo/bar/baz"));
    CHECK(topic_matches_sub("#", "/foo/bar"));
    CHECK(topic_matches_sub("/#", "/foo/bar"));
    CHECK(topic_matches_sub("$SYS/bar", "$SYS/bar"));
    CHECK(topic_matches_sub("foo/#", "foo/$bar"));
    CHECK(topic_matches_sub("foo/+/baz", "foo/$bar/baz"));
    CHECK(topic_matches_sub("foo/#", "foo/"));
}

TEST_CASE("paho topic_matches_sub: non-matching examples", "[topic][match][paho]")
{
    CHECK_FALSE(topic_matches_sub("test/6/#", "test/3"));
    CHECK_FALSE(topic_matches_sub("foo/bar", "foo"));
    CHECK_FALSE(topic_matches_sub("foo/+", "foo/bar/baz"));
    CHECK_FALSE(topic_matches_sub("foo/+/baz", "foo/bar/bar"));
    CHECK_FALSE(topic_matches_sub("foo/+/#", "fo2/bar/baz"));
    CHECK_FALSE(topic_matches_sub("/#", "foo/bar"));
    CHECK_FALSE(topic_matches_sub("#", "$SYS/bar"));
    CHECK_FALSE(topic_matches_sub("$BOB/bar", "$SYS/bar"));
}

TEST_CASE("topic_matches_sub throws for an invalid subscription or topic", "[topic][match]")
{
    const auto code_of = [](const char* sub, const std::string& topic) {
        try {
            topic_matches_sub(sub, topic);
        } catch (const mqtt::error& e) {
            return e.code();
        }
        return std::error_code{};
    };
    CHECK(code_of("foo#", "foo") == errc::invalid_topic_filter);
    CHECK(code_of("fo#o/", "foo") == errc::invalid_topic_filter);
    CHECK(code_of("foo+", "foo") == errc::invalid_topic_filter);
    CHECK(code_of("#/a", "a") == errc::invalid_topic_filter);
    CHECK(code_of("", "a") == errc::invalid_topic_filter);
    CHECK(code_of("a/\xff", "a") == errc::invalid_topic_filter);  // bad UTF-8 is still a bad filter
    CHECK(code_of("#", "") == errc::invalid_topic);
    CHECK(code_of("#", "foo/+") == errc::invalid_topic);
    CHECK(code_of("#", "foo/#") == errc::invalid_topic);
    CHECK(code_of("#", std::string("a\0", 2)) == errc::invalid_topic);
}

TEST_CASE("topic_matches_sub names the cause in what()", "[topic][match]")
{
    try {
        topic_matches_sub("a/\xc3", "a");
        FAIL("no exception");
    } catch (const mqtt::error& e) {
        const std::string what = e.what();
        CAPTURE(what);
        CHECK(what.find("invalid subscription") != std::string::npos);
        CHECK(what.find("UTF-8") != std::string::npos);
    }
    try {
        topic_matches_sub("#", "a/+");
        FAIL("no exception");
    } catch (const mqtt::error& e) {
        const std::string what = e.what();
        CAPTURE(what);
        CHECK(what.find("invalid topic \"a/+\"") != std::string::npos);
    }
}

TEST_CASE("topic_matches_sub with error_code reports instead of throwing", "[topic][match]")
{
    std::error_code ec = errc::protocol_error;  // cleared on success
    CHECK(topic_matches_sub("a/+", "a/b", ec));
    CHECK_FALSE(ec);
    ec = errc::protocol_error;
    CHECK_FALSE(topic_matches_sub("a/+", "b/c", ec));
    CHECK_FALSE(ec);
    CHECK_FALSE(topic_matches_sub("a/#/b", "a/x/b", ec));
    CHECK(ec == errc::invalid_topic_filter);
    CHECK_FALSE(topic_matches_sub("#", "a/#", ec));
    CHECK(ec == errc::invalid_topic);
}
