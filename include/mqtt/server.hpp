#pragma once

// Where to connect, and which protocol to speak: shared by both faces.

#include <cstdint>
#include <string>

namespace mqtt {
inline namespace v1 {

enum class protocol_version : std::uint8_t { mqtt31 = 3, mqtt311 = 4 };

// One broker address; connect() takes one or a list to fail over between.
struct server {
    std::string host;
    std::uint16_t port = 1883;
};

}  // namespace v1
}  // namespace mqtt
