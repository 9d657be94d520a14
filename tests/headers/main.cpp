// The second translation unit that includes the umbrella header: linked with
// one TU per public header (see CMakeLists.txt), so that a non-inline
// definition in any header is a multiple-definition link error. Then a little
// of the API runs, without a broker.

#include <mqtt/client.hpp>

#include <cstdio>
#include <system_error>

int main()
{
    std::error_code ec;
    if (!mqtt::topic_matches_sub("a/+/c", "a/b/c", ec) || ec) {
        std::fputs("topic_matches_sub(a/+/c, a/b/c) failed\n", stderr);
        return 1;
    }
    if (mqtt::topic_matches_sub("a/#/c", "a/b/c", ec) || ec != mqtt::errc::invalid_topic_filter) {
        std::fputs("topic_matches_sub accepted the invalid filter a/#/c\n", stderr);
        return 1;
    }
    {
        mqtt::client client("header-check");  // constructed and destroyed, never connected
        if (client.is_connected()) {
            std::fputs("a new client says it is connected\n", stderr);
            return 1;
        }
    }
    std::printf("mqtt_client %d.%d.%d: every header on its own, two TUs with <mqtt/client.hpp>, one program\n",
                mqtt::version_major, mqtt::version_minor, mqtt::version_patch);
    return 0;
}
