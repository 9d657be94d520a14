// Device 1 of the notebook's architecture: samples a (simulated) temperature
// sensor at a fixed period and publishes each reading to "temperature".
//
//   temperature_sensor [host [port [period_ms [count]]]]
//   defaults: localhost 1883 1000 0 (0 = run until interrupted)

#include <mqtt/client.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>

namespace {
volatile std::sig_atomic_t interrupted = 0;

// A slow daily swing plus sensor noise: something a display can plot.
double sample_temperature(int n, std::mt19937& rng)
{
    std::normal_distribution<double> noise(0.0, 0.1);
    return 21.0 + 3.0 * std::sin(n / 60.0) + noise(rng);
}
}  // namespace

int main(int argc, char* argv[])
{
    const std::string host = argc > 1 ? argv[1] : "localhost";
    const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
    const auto period = std::chrono::milliseconds(argc > 3 ? std::atoi(argv[3]) : 1000);
    const int count = argc > 4 ? std::atoi(argv[4]) : 0;
    std::signal(SIGINT, [](int) { interrupted = 1; });

    mqtt::client client("temperature-sensor-1");
    try {
        client.connect(host, port);
        client.loop_start();
        std::mt19937 rng(std::random_device{}());
        for (int n = 0; (count == 0 || n < count) && !interrupted; ++n) {
            char reading[32];
            std::snprintf(reading, sizeof reading, "%.2f", sample_temperature(n, rng));
            client.publish("temperature", reading, 1);
            std::cout << "published temperature " << reading << std::endl;
            std::this_thread::sleep_for(period);
        }
        client.disconnect();  // flushes what is still queued
        client.loop_stop();
    } catch (const std::exception& e) {
        std::cerr << "temperature_sensor: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
