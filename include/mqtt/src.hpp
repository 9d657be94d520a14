#pragma once

// Separate compilation: with MQTT_CLIENT_SEPARATE_COMPILATION defined for the
// whole program, include this header in exactly one of its translation units.
// (CMake: link mqtt::client_compiled instead of mqtt::client.)

#if !defined(MQTT_CLIENT_SEPARATE_COMPILATION)
#error "<mqtt/src.hpp> is for MQTT_CLIENT_SEPARATE_COMPILATION builds; header-only builds need nothing"
#endif

#include <mqtt/async_client.hpp>
#include <mqtt/client.hpp>

#include <mqtt/detail/impl/engine_requests.ipp>
#include <mqtt/detail/impl/engine_connection.ipp>
#include <mqtt/detail/impl/engine_io.ipp>
#include <mqtt/detail/impl/engine_events.ipp>
#include <mqtt/detail/impl/client_settings.ipp>
#include <mqtt/impl/async_client.ipp>
#include <mqtt/impl/client_api.ipp>
#include <mqtt/impl/client_loop.ipp>
