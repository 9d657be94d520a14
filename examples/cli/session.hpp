#pragma once

// From the common flags to a configured mqtt::client, and from a failed
// connect to mosquitto's messages and exit codes.

#include "options.hpp"

#include <mqtt/client.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <system_error>
#include <unistd.h>

namespace cli {

// Error messages go to stderr unless --quiet, as mosquitto's err_printf.
inline void error_line(const common_options& o, const std::string& line)
{
    if (!o.quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

// -i as given; -I: the prefix and the process id (as mosquitto); neither: empty,
// so the broker assigns one (MQTT 3.1.1) or the library makes a random one (3.1).
inline std::string client_id(const common_options& o)
{
    if (o.id) return *o.id;
    if (o.id_prefix) return *o.id_prefix + std::to_string(::getpid());
    return {};
}

inline mqtt::protocol_version protocol(const common_options& o)
{
    return o.version == mqtt_version::v31 ? mqtt::protocol_version::mqtt31 : mqtt::protocol_version::mqtt311;
}

// Credentials, will and logger. Throws mqtt::error for what the library
// refuses (a will payload over 65535 bytes, a user name that is not UTF-8).
inline void configure(mqtt::client& client, const common_options& o)
{
    if (o.username) client.username_pw_set(*o.username, o.password);
    if (o.will.topic)
        client.will_set(*o.will.topic, o.will.payload.value_or(""), o.will.qos.value_or(0), o.will.retain);
    if (o.debug) client.enable_logger(std::cerr);
}

// The CONNACK return code (1..5) of a refused connection, 0 for any other error.
inline int connack_code(std::error_code ec)
{
    if (ec.category() != mqtt::error_category()) return 0;
    const int first = static_cast<int>(mqtt::errc::connection_refused_protocol_version);
    const int v = ec.value();
    if (v >= first && v < first + 5) return v - first + 1;
    return v == static_cast<int>(mqtt::errc::connection_refused_unknown_code) ? 1 : 0;
}

// mosquitto_connack_string's wording.
inline const char* connack_string(int code)
{
    switch (code) {
    case 1: return "Connection Refused: unacceptable protocol version.";
    case 2: return "Connection Refused: identifier rejected.";
    case 3: return "Connection Refused: broker unavailable.";
    case 4: return "Connection Refused: bad user name or password.";
    case 5: return "Connection Refused: not authorised.";
    }
    return "Connection Refused: unknown reason.";
}

// Exit code of a failed connect: the CONNACK return code for a refusal (as
// mosquitto_pub/mosquitto_sub), 1 for network errors.
inline int connect_exit_code(std::error_code ec)
{
    const int code = connack_code(ec);
    return code != 0 ? code : 1;
}

// "Connection error: Connection Refused: not authorised." for a refusal,
// "Error: Connection refused (connecting to 127.0.0.1:1)." for the rest.
inline std::string describe_connect_error(std::error_code ec, const common_options& o)
{
    if (const int code = connack_code(ec)) return std::string("Connection error: ") + connack_string(code);
    std::string cause = ec.message();
    if (ec.category() == asio::error::get_netdb_category() || ec.category() == asio::error::get_addrinfo_category())
        cause = "Lookup error: " + cause;
    return "Error: " + cause + " (connecting to " + o.host + ":" + std::to_string(o.port) + ").";
}

}  // namespace cli
