// The program every consumer project under tests/cmake/ builds, whichever way
// it pulls mqtt_client in (find_package, FetchContent, add_subdirectory, a
// plain compile line, pkg-config): the driver copies it next to the
// project's CMakeLists.txt as main.cpp.
//
//   consumer PORT    connects to the test broker on 127.0.0.1:PORT
//
// Checks: the headers' version, mqtt::topic_matches_sub, and one QoS 1
// message published to the broker and received back (bounded waits).
// Exit 0 and a last line "consumer: ok" on success.

#include <mqtt/client.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

namespace {

int fail(const std::string& what)
{
    std::cerr << "consumer: FAILED: " << what << std::endl;
    return 1;
}

}  // namespace

int main(int argc, char* argv[])
{
    const long port = argc == 2 ? std::strtol(argv[1], nullptr, 10) : 0;
    if (port <= 0 || port > 65535) {
        std::cerr << "usage: consumer PORT   (the test broker on 127.0.0.1:PORT)" << std::endl;
        return 2;
    }
    std::cout << "consumer: mqtt_client " << MQTT_CLIENT_VERSION_MAJOR << '.' << MQTT_CLIENT_VERSION_MINOR << '.'
              << MQTT_CLIENT_VERSION_PATCH << std::endl;

    if (!mqtt::topic_matches_sub("house/+/bulb1", "house/bulbs/bulb1") ||
        mqtt::topic_matches_sub("house/#", "garden/bulbs/bulb1")) {
        return fail("mqtt::topic_matches_sub gave a wrong answer");
    }

    const std::string topic = "consumer/roundtrip";
    const std::string payload = "hello from a consumer project";
    std::mutex mutex;
    std::condition_variable received_cv;
    std::string received;
    bool has_received = false;

    try {
        mqtt::client client("mqtt_client-consumer");
        client.on_message = [&](mqtt::client&, const mqtt::message& m) {
            std::lock_guard<std::mutex> lock(mutex);
            if (m.topic != topic || has_received) return;
            received = m.payload;
            has_received = true;
            received_cv.notify_all();
        };
        client.connect("127.0.0.1", static_cast<std::uint16_t>(port));
        if (auto ec = client.loop_start()) return fail("loop_start: " + ec.message());

        auto [sub_rc, sub_mid] = client.subscribe(topic, 1);
        if (sub_rc) return fail("subscribe: " + sub_rc.message());
        (void)sub_mid;

        auto info = client.publish(topic, payload, 1);
        if (auto ec = info.wait_for_publish(std::chrono::seconds(10))) return fail("publish: " + ec.message());

        {
            std::unique_lock<std::mutex> lock(mutex);
            if (!received_cv.wait_for(lock, std::chrono::seconds(10), [&] { return has_received; })) {
                return fail("no message on " + topic + " within 10 s");
            }
        }
        if (received != payload) return fail("received \"" + received + "\", expected \"" + payload + "\"");

        client.disconnect();
        client.loop_stop();
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    std::cout << "consumer: received \"" << payload << "\" on " << topic << std::endl;
    std::cout << "consumer: ok" << std::endl;
    return 0;
}
