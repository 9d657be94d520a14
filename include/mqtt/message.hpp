#pragma once

#include <string>

namespace mqtt {
inline namespace v1 {

// A received application message, as paho's MQTTMessage.
struct message {
    std::string topic;
    std::string payload;  // bytes; may hold NUL and non-UTF-8 data
    int qos = 0;
    bool retain = false;
    bool dup = false;
    int mid = 0;  // the packet id for QoS 1/2, 0 for QoS 0
};

}  // namespace v1
}  // namespace mqtt
