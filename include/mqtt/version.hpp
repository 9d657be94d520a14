#pragma once

// The one place the version lives; CMake reads it from here.
#define MQTT_CLIENT_VERSION_MAJOR 0
#define MQTT_CLIENT_VERSION_MINOR 1
#define MQTT_CLIENT_VERSION_PATCH 0

namespace mqtt {
inline namespace v1 {
constexpr int version_major = MQTT_CLIENT_VERSION_MAJOR;
constexpr int version_minor = MQTT_CLIENT_VERSION_MINOR;
constexpr int version_patch = MQTT_CLIENT_VERSION_PATCH;
}  // namespace v1
}  // namespace mqtt
