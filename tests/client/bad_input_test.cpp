// Bad input (issue 3, item 6): each invalid argument throws mqtt::error with
// a named errc (like paho's ValueError), each state error comes back as rc;
// never a crash or a hang.

#include "client_test_helpers.hpp"

#include <sys/mman.h>

#include <string>
#include <vector>

using namespace client_test;
using mqtt_test::broker;

namespace {

// The errc of the mqtt::error that f() throws; errc::success when it throws
// nothing (and a failed check when it throws anything else).
template <class F>
std::error_code thrown_code(F&& f)
{
    try {
        std::forward<F>(f)();
    } catch (const mqtt::error& e) {
        return e.code();
    } catch (const std::exception& e) {
        FAIL_CHECK("threw something other than mqtt::error: " << e.what());
        return mqtt::make_error_code(mqtt::errc::invalid_argument);
    }
    return {};
}

// `size` readable bytes without committing memory: an anonymous private
// mapping reads as zeros and backs untouched pages with nothing.
class big_zero_buffer {
public:
    explicit big_zero_buffer(std::size_t size) : size_(size)
    {
        p_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p_ == MAP_FAILED) throw std::runtime_error("mmap failed");
    }
    ~big_zero_buffer() { ::munmap(p_, size_); }
    big_zero_buffer(const big_zero_buffer&) = delete;
    big_zero_buffer& operator=(const big_zero_buffer&) = delete;
    std::string_view view() const { return {static_cast<const char*>(p_), size_}; }

private:
    void* p_ = nullptr;
    std::size_t size_;
};

#if defined(__SANITIZE_THREAD__)
constexpr bool thread_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool thread_sanitizer = true;
#else
constexpr bool thread_sanitizer = false;
#endif
#else
constexpr bool thread_sanitizer = false;
#endif

const std::string invalid_utf8 = "a/\xc3\x28/b";     // 0xC3 followed by a non-continuation byte
const std::string overlong_nul = "a/\xc0\x80";       // overlong encoding of U+0000
const std::string surrogate = "a/\xed\xa0\x80";      // U+D800
const std::string with_nul = std::string("a/\0b", 4);  // U+0000

// Every check runs against a client in the given state, so that validation
// comes before any state error.
void check_publish_arguments(mqtt::client& c)
{
    using mqtt::errc;
    CHECK(thrown_code([&] { c.publish("a/+/b", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.publish("a/#", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.publish("#", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.publish("+", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.publish("a+b", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.publish("", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.publish(invalid_utf8, "x"); }) == errc::invalid_utf8);
    CHECK(thrown_code([&] { c.publish(overlong_nul, "x"); }) == errc::invalid_utf8);
    CHECK(thrown_code([&] { c.publish(surrogate, "x"); }) == errc::invalid_utf8);
    CHECK(thrown_code([&] { c.publish(with_nul, "x"); }) == errc::utf8_null_character);
    CHECK(thrown_code([&] { c.publish(std::string(65536, 'a'), "x"); }) == errc::string_too_long);
    CHECK(thrown_code([&] { c.publish("a", "x", -1); }) == errc::invalid_qos);
    CHECK(thrown_code([&] { c.publish("a", "x", 3); }) == errc::invalid_qos);
    // Topic checks apply whatever the QoS; the QoS check whatever the topic.
    CHECK(thrown_code([&] { c.publish("a/#", "x", 2); }) == errc::invalid_topic);
    const auto both = thrown_code([&] { c.publish("a/#", "x", 7); });
    CHECK((both == errc::invalid_qos || both == errc::invalid_topic));
}

void check_subscribe_arguments(mqtt::client& c)
{
    using mqtt::errc;
    CHECK(thrown_code([&] { c.subscribe("a/#/b", 0); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.subscribe("a+", 0); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.subscribe("a/b#", 0); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.subscribe("#/a", 0); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.subscribe("", 0); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.subscribe(invalid_utf8, 0); }) == errc::invalid_utf8);
    CHECK(thrown_code([&] { c.subscribe(with_nul, 0); }) == errc::utf8_null_character);
    CHECK(thrown_code([&] { c.subscribe(std::string(65536, 'a'), 0); }) == errc::string_too_long);
    CHECK(thrown_code([&] { c.subscribe("a", -1); }) == errc::invalid_qos);
    CHECK(thrown_code([&] { c.subscribe("a", 3); }) == errc::invalid_qos);
    // One bad entry spoils the list; nothing is subscribed.
    CHECK(thrown_code([&] { c.subscribe({{"ok/1", 0}, {"a/#/b", 1}}); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.subscribe({{"ok/1", 0}, {"ok/2", 3}}); }) == errc::invalid_qos);
    CHECK(thrown_code([&] { c.subscribe(std::vector<std::pair<std::string, int>>{}); }) == errc::invalid_argument);

    CHECK(thrown_code([&] { c.unsubscribe("a/#/b"); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.unsubscribe("a+"); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.unsubscribe(""); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.unsubscribe(invalid_utf8); }) == errc::invalid_utf8);
    CHECK(thrown_code([&] { c.unsubscribe(std::vector<std::string>{"ok", "a/#/b"}); }) == errc::invalid_topic_filter);
    CHECK(thrown_code([&] { c.unsubscribe(std::vector<std::string>{}); }) == errc::invalid_argument);
}

}  // namespace

TEST_CASE("bad input before connect: invalid arguments throw named errcs", "[client][bad_input]")
{
    mqtt::client c(unique_id("badpre"));
    check_publish_arguments(c);
    check_subscribe_arguments(c);
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("bad input while connected: invalid arguments throw, the connection stays usable", "[client][bad_input]")
{
    broker b;
    const auto topic = unique_topic("badcon");
    test_client c(unique_id("badcon"));
    c.start(b);
    check_publish_arguments(c.client);
    check_subscribe_arguments(c.client);

    // Nothing invalid reached the broker: the connection is intact and works.
    CHECK(c.client.is_connected());
    c.subscribe_and_wait(topic, 1);
    CHECK_FALSE(c.client.publish(topic, "still fine", 1).wait_for_publish(wait_timeout));
    REQUIRE(c.messages().wait_for(1));
    CHECK(c.messages().at(0).payload == "still fine");
    CHECK(c.log.disconnects.size() == 0);
}

TEST_CASE("the longest valid topic (65535 bytes) is accepted", "[client][bad_input]")
{
    broker b;
    const std::string topic = "t/" + std::string(65533, 'x');
    REQUIRE(topic.size() == 65535);
    test_client c(unique_id("longtop"));
    c.start(b);
    c.subscribe_and_wait(topic, 1);
    REQUIRE_NOTHROW(c.client.publish(topic, "long", 1));
    REQUIRE(c.messages().wait_for(1));
    CHECK(c.messages().at(0).topic == topic);
    CHECK(c.messages().at(0).payload == "long");
}

TEST_CASE("payload over 268 435 455 bytes: errc::payload_too_large", "[client][bad_input]")
{
    // 256 MiB + 1 of mapped zeros: readable, but no memory committed.
    big_zero_buffer big(268435456 + 1);
    const auto huge = big.view();
    mqtt::client c(unique_id("bigpay"));
    using mqtt::errc;
    CHECK(thrown_code([&] { c.publish("t", huge.substr(0, 268435456)); }) == errc::payload_too_large);
    CHECK(thrown_code([&] { c.publish("t", huge, 1); }) == errc::payload_too_large);
    // The bound is the packet's remaining length: 2 + topic + payload (+ 2
    // for the packet id at QoS 1/2) must not exceed 268 435 455.
    CHECK(thrown_code([&] { c.publish("t", huge.substr(0, 268435455 - 2 - 1 + 1), 0); }) == errc::payload_too_large);
    CHECK(thrown_code([&] { c.publish("t", huge.substr(0, 268435455 - 2 - 1 - 2 + 1), 1); }) ==
          errc::payload_too_large);
    // Invalid QoS or topic is reported, however large the payload.
    CHECK(thrown_code([&] { c.publish("t", huge, 3); }) == errc::invalid_qos);
    CHECK(thrown_code([&] { c.publish("t/#", huge); }) == errc::invalid_topic);
}

TEST_CASE("a payload of exactly the largest size is not refused as too large", "[client][bad_input]")
{
    // Costs one 256 MiB copy, the encoded packet (measured: 0.8 s, 270 MB in
    // the Debug build). ThreadSanitizer shadows every byte written: there it
    // took 2.3 GB, for a check that has nothing to do with threads.
    if (thread_sanitizer) {
        WARN("skipped under ThreadSanitizer: its shadow of the 256 MiB packet takes some 2 GB");
        return;
    }
    big_zero_buffer big(268435455 - 2 - 1);
    mqtt::client c(unique_id("maxpay"));
    mqtt::message_info info(0, {});
    REQUIRE_NOTHROW(info = c.publish("t", big.view(), 0));
    CHECK(info.rc() == mqtt::errc::not_connected);
}

TEST_CASE("calls before connect: state errors come back as rc, never a hang", "[client][bad_input]")
{
    mqtt::client c(unique_id("early"));
    using mqtt::errc;

    auto info = c.publish("a/b", "x", 1);
    CHECK(info.rc() == errc::not_connected);
    CHECK_FALSE(info.is_published());
    std::error_code waited;
    const auto took = time_of([&] { waited = info.wait_for_publish(wait_timeout); });
    CHECK(waited == errc::not_connected);  // completed already: no wait
    CHECK(took < 3s);  // not the 5 s wait_timeout

    CHECK(c.publish("a/b", "x", 0).rc() == errc::not_connected);
    CHECK(c.subscribe("a/#", 1).first == errc::not_connected);
    CHECK(c.subscribe({{"a", 0}, {"b", 2}}).first == errc::not_connected);
    CHECK(c.unsubscribe("a/#").first == errc::not_connected);
    CHECK(c.unsubscribe(std::vector<std::string>{"a", "b"}).first == errc::not_connected);
    CHECK(c.disconnect() == errc::not_connected);
    CHECK(c.loop_forever() == errc::not_connected);
    CHECK(c.loop_stop() == errc::loop_not_running);
    CHECK_FALSE(c.is_connected());
    CHECK(c.queued_messages() == 0);
}

TEST_CASE("calls after disconnect: state errors come back as rc", "[client][bad_input]")
{
    broker b;
    mqtt::client c(unique_id("late"));
    c.connect(b.host(), b.port());
    REQUIRE_FALSE(c.disconnect());
    using mqtt::errc;
    CHECK(c.publish("a/b", "x", 1).rc() == errc::not_connected);
    CHECK(c.subscribe("a/#", 1).first == errc::not_connected);
    CHECK(c.unsubscribe("a/#").first == errc::not_connected);
    CHECK(c.disconnect() == errc::not_connected);
}

TEST_CASE("double loop_start gives errc::loop_already_running", "[client][bad_input]")
{
    mqtt::client c(unique_id("dblloop"));
    REQUIRE_FALSE(c.loop_start());
    CHECK(c.loop_start() == mqtt::errc::loop_already_running);
    CHECK(c.loop_start() == mqtt::errc::loop_already_running);
    CHECK_FALSE(c.loop_stop());
}

TEST_CASE("invalid arguments to the setters and the constructor", "[client][bad_input]")
{
    using mqtt::errc;
    mqtt::client c(unique_id("setters"));
    CHECK(thrown_code([&] { c.will_set("a/#", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.will_set("", "x"); }) == errc::invalid_topic);
    CHECK(thrown_code([&] { c.will_set(invalid_utf8, "x"); }) == errc::invalid_utf8);
    CHECK(thrown_code([&] { c.will_set("a", "x", 3); }) == errc::invalid_qos);
    CHECK(thrown_code([&] { c.will_set("a", "x", -1); }) == errc::invalid_qos);
    CHECK(thrown_code([&] { c.will_set("a", std::string(65536, 'x')); }) == errc::payload_too_large);
    CHECK(thrown_code([&] { c.username_pw_set(invalid_utf8, "pw"); }) == errc::invalid_utf8);
    CHECK(thrown_code([&] { c.username_pw_set(std::string(65536, 'u')); }) == errc::string_too_long);
    CHECK(thrown_code([&] { c.username_pw_set("u", std::string(65536, 'p')); }) == errc::string_too_long);
    CHECK(thrown_code([&] { c.max_inflight_messages_set(0); }) == errc::invalid_argument);
    CHECK(thrown_code([&] { c.connect_timeout_set(0ms); }) == errc::invalid_argument);
    CHECK(thrown_code([&] { c.disconnect_timeout_set(-1ms); }) == errc::invalid_argument);

    CHECK(thrown_code([] { mqtt::client bad(invalid_utf8); }) == errc::invalid_utf8);
    CHECK(thrown_code([] { mqtt::client bad(with_nul); }) == errc::utf8_null_character);
    CHECK(thrown_code([] { mqtt::client bad("", false); }) == errc::invalid_client_id);
    CHECK(thrown_code([] { mqtt::client bad(std::string(24, 'x'), std::nullopt, mqtt::protocol_version::mqtt31); }) ==
          errc::invalid_client_id);

    // Invalid connect arguments come back, not thrown from a worker thread.
    std::error_code ec;
    c.connect("", 1883, 60, ec);
    CHECK(ec == errc::invalid_argument);
    c.connect("127.0.0.1", 1883, -1, ec);
    CHECK(ec == errc::invalid_argument);
    c.connect("127.0.0.1", 1883, 65536, ec);
    CHECK(ec == errc::invalid_argument);
    CHECK(thrown_code([&] { c.connect("", 1883); }) == errc::invalid_argument);
    CHECK_FALSE(c.is_connected());
}

TEST_CASE("topic_matches_sub", "[client][bad_input]")
{
    CHECK(mqtt::topic_matches_sub("house/+/bulb1", "house/main/bulb1"));
    CHECK(mqtt::topic_matches_sub("house/#", "house"));
    CHECK_FALSE(mqtt::topic_matches_sub("#", "$SYS/x"));
    CHECK(thrown_code([] { mqtt::topic_matches_sub("a/#/b", "a"); }) == mqtt::errc::invalid_topic_filter);
    CHECK(thrown_code([] { mqtt::topic_matches_sub("a", "a/+"); }) == mqtt::errc::invalid_topic);
}
