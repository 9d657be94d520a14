// MQTT string rules: length, well-formed UTF-8, no U+0000.
// utf8.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/protocol/utf8.hpp>

#include "protocol_test_util.hpp"

#include <string>
#include <string_view>

using mqtt::errc;
using mqtt::protocol::validate_mqtt_string;

namespace {
std::string_view sv(const char* s, std::size_t n)
{
    return {s, n};
}
}  // namespace

TEST_CASE("Well-formed UTF-8 strings are valid MQTT strings", "[utf8]")
{
    CHECK_FALSE(validate_mqtt_string(""));
    CHECK_FALSE(validate_mqtt_string("a"));
    CHECK_FALSE(validate_mqtt_string("sensors/kitchen/temperature"));  // longer than 8: word-at-a-time path
    CHECK_FALSE(validate_mqtt_string("\x01\x1f\x7f"));                 // control characters: SHOULD NOT, allowed
    CHECK_FALSE(validate_mqtt_string("\xc2\x80"));                     // U+0080, smallest 2-byte
    CHECK_FALSE(validate_mqtt_string("caf\xc3\xa9"));                  // U+00E9 e acute
    CHECK_FALSE(validate_mqtt_string("\xdf\xbf"));                     // U+07FF, largest 2-byte
    CHECK_FALSE(validate_mqtt_string("\xe0\xa0\x80"));                 // U+0800, smallest 3-byte
    CHECK_FALSE(validate_mqtt_string("\xe2\x82\xac"));                 // U+20AC euro sign
    CHECK_FALSE(validate_mqtt_string("\xed\x9f\xbf"));                 // U+D7FF, just below the surrogates
    CHECK_FALSE(validate_mqtt_string("\xee\x80\x80"));                 // U+E000, just above the surrogates
    CHECK_FALSE(validate_mqtt_string("\xef\xbb\xbf"));                 // U+FEFF BOM: must not be stripped
    CHECK_FALSE(validate_mqtt_string("\xef\xbf\xbf"));                 // U+FFFF non-character: allowed
    CHECK_FALSE(validate_mqtt_string("\xf0\x90\x80\x80"));             // U+10000, smallest 4-byte
    CHECK_FALSE(validate_mqtt_string("\xf0\x9f\x98\x80"));             // U+1F600 emoji
    CHECK_FALSE(validate_mqtt_string("\xf4\x8f\xbf\xbf"));             // U+10FFFF, the largest code point
}

TEST_CASE("Ill-formed UTF-8 is invalid_utf8", "[utf8]")
{
    const char* const cases[] = {
        "\x80",              // lone continuation byte
        "\xbf",              // lone continuation byte
        "\xc0\x80",          // overlong U+0000
        "\xc1\xbf",          // overlong U+007F
        "\xe0\x80\x80",      // overlong 3-byte U+0000
        "\xe0\x9f\xbf",      // overlong U+07FF
        "\xf0\x80\x80\x80",  // overlong 4-byte U+0000
        "\xf0\x8f\xbf\xbf",  // overlong U+FFFF
        "\xed\xa0\x80",      // U+D800, first surrogate
        "\xed\xbf\xbf",      // U+DFFF, last surrogate
        "\xf4\x90\x80\x80",  // U+110000, above the range
        "\xf5\x80\x80\x80",  // lead byte F5
        "\xf8\x88\x80\x80\x80", // 5-byte form
        "\xfe",              // never in UTF-8
        "\xff",              // never in UTF-8
        "\xc3",              // truncated 2-byte
        "\xe2\x82",          // truncated 3-byte
        "\xf0\x9f\x98",      // truncated 4-byte
        "\xc3\x41",          // continuation replaced by ASCII
        "\xe2\x28\xa1",      // bad second byte
        "\xe2\x82\x28",      // bad third byte
        "\xf0\x9f\x28\x80",  // bad third byte of 4
        "\xf0\x9f\x98\x28",  // bad fourth byte
        "abc\xc3",           // truncated at the end after ASCII
    };
    for (const char* s : cases) {
        CAPTURE(s);
        CHECK(validate_mqtt_string(s) == errc::invalid_utf8);
    }
}

TEST_CASE("U+0000 is refused, anywhere in the string", "[utf8]")
{
    CHECK(validate_mqtt_string(sv("\0", 1)) == errc::utf8_null_character);
    CHECK(validate_mqtt_string(sv("a\0b", 3)) == errc::utf8_null_character);
    // Every position of a 20-byte ASCII string, across the 8-byte words.
    for (std::size_t i = 0; i < 20; ++i) {
        CAPTURE(i);
        std::string s(20, 'x');
        s[i] = '\0';
        CHECK(validate_mqtt_string(s) == errc::utf8_null_character);
    }
}

TEST_CASE("Non-ASCII bytes are checked at every position of a long string", "[utf8]")
{
    for (std::size_t i = 0; i <= 20; ++i) {
        CAPTURE(i);
        std::string good(20, 'x');
        good.insert(i, "\xe2\x82\xac");  // euro sign
        CHECK_FALSE(validate_mqtt_string(good));
        std::string bad(20, 'x');
        bad.insert(i, "\xed\xa0\x80");  // surrogate
        CHECK(validate_mqtt_string(bad) == errc::invalid_utf8);
        std::string cut(20, 'x');
        cut.insert(i, "\xe2\x82");  // truncated, followed by ASCII (or the end)
        CHECK(validate_mqtt_string(cut) == errc::invalid_utf8);
    }
}

TEST_CASE("Strings are at most 65535 bytes", "[utf8]")
{
    CHECK_FALSE(validate_mqtt_string(std::string(65535, 'a')));
    CHECK(validate_mqtt_string(std::string(65536, 'a')) == errc::string_too_long);
    // The length is checked first, whatever the content.
    CHECK(validate_mqtt_string(std::string(65536, '\xff')) == errc::string_too_long);
}
