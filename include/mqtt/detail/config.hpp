#pragma once

// Header-only (the default) or separately compiled, as Asio does it: define
// MQTT_CLIENT_SEPARATE_COMPILATION for the whole program and include
// <mqtt/src.hpp> in exactly one of its translation units. The library's
// non-template functions are then compiled once, there.

#if defined(MQTT_CLIENT_SEPARATE_COMPILATION)
#define MQTT_CLIENT_DECL
#else
#define MQTT_CLIENT_HEADER_ONLY 1
#define MQTT_CLIENT_DECL inline
#endif
