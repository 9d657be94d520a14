// The notebook's "Simple Example", cell by cell: one client subscribes to
// house/bulbs/bulb1, publishes "OFF" to it and receives its own message.
//
//   bulb [host [port]]     (default: localhost 1883)

#include <mqtt/client.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

// In [2]: the "on_message" callback (event handler).
void on_message(mqtt::client&, const mqtt::message& message)
{
    std::cout << "\nmessage payload: " << message.payload << "\n";
    std::cout << "message topic: " << message.topic << "\n";
    std::cout << "message qos: " << message.qos << "\n";
    std::cout << "message retain flag: " << message.retain << std::endl;
}

int main(int argc, char* argv[])
{
    const std::string broker_address = argc > 1 ? argv[1] : "localhost";
    const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 1883);

    // In [3]: create a new instance and attach the callback.
    std::cout << "creating new instance" << std::endl;
    mqtt::client client("P1");  // the ID, in this case "P1", must be unique
    client.on_message = on_message;

    // In [4]: connect, subscribe, publish, unsubscribe, stop, disconnect.
    try {
        std::cout << "connecting to broker" << std::endl;
        client.connect(broker_address, port);  // connect to broker
        client.loop_start();                   // start the event processing loop

        std::cout << "Subscribing to topic: house/bulbs/bulb1" << std::endl;
        client.subscribe("house/bulbs/bulb1");

        std::cout << "Publishing message 'OFF' to topic: house/bulbs/bulb1" << std::endl;
        client.publish("house/bulbs/bulb1", "OFF");

        std::cout << "Unsubscribing from topic: house/bulbs/bulb1" << std::endl;
        client.unsubscribe("house/bulbs/bulb1");

        // Wait 4 seconds so all pending events are processed, then stop the loop.
        std::this_thread::sleep_for(std::chrono::seconds(4));
        client.loop_stop();

        std::cout << "\ndisconnecting from broker" << std::endl;
        client.disconnect();
    } catch (const std::exception& e) {
        std::cout << "connection error: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
