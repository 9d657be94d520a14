// Devices 2 and 3 of the notebook's architecture: subscribe to "temperature"
// and show every reading the broker forwards. Run two of them.
//
//   temperature_display [host [port [name [count]]]]
//   defaults: localhost 1883 display 0 (0 = run until interrupted)

#include <mqtt/client.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace {
volatile std::sig_atomic_t interrupted = 0;
}

int main(int argc, char* argv[])
{
    const std::string host = argc > 1 ? argv[1] : "localhost";
    const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);
    const std::string name = argc > 3 ? argv[3] : "display";
    const int count = argc > 4 ? std::atoi(argv[4]) : 0;
    std::signal(SIGINT, [](int) { interrupted = 1; });

    std::atomic<int> received{0};
    mqtt::client client;  // the broker assigns an id, so any number of displays may run
    client.on_connect = [](mqtt::client& c, bool, int) { c.subscribe("temperature", 1); };  // again after a reconnect
    client.on_message = [&](mqtt::client&, const mqtt::message& m) {
        std::cout << name << ": temperature " << m.payload << std::endl;
        ++received;
    };
    try {
        client.connect(host, port);
        client.loop_start();
        while ((count == 0 || received < count) && !interrupted)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        client.disconnect();
        client.loop_stop();
    } catch (const std::exception& e) {
        std::cerr << "temperature_display: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
