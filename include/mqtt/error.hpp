#pragma once

#include <string>
#include <system_error>

namespace mqtt {
inline namespace v1 {

// Every error the library reports by itself. Network failures keep their
// std::system_category / asio codes; these are the MQTT-level causes.
enum class errc {
    success = 0,

    // Invalid arguments to a public call (thrown, like paho's ValueError).
    invalid_argument = 1,
    invalid_qos,
    invalid_topic,
    invalid_topic_filter,
    invalid_utf8,
    utf8_null_character,
    string_too_long,
    payload_too_large,
    invalid_client_id,

    // State errors (returned as rc).
    not_connected = 20,
    already_connected,
    loop_already_running,
    loop_not_running,
    would_deadlock,
    queue_full,
    timeout,
    connect_timeout,
    connection_lost,
    keepalive_timeout,
    disconnected,
    shutdown,
    no_packet_id_available,  // no longer produced: queued messages take a packet id only when sent
    subscription_refused,  // the broker answered a SUBSCRIBE with 0x80 (failure)

    // CONNACK refusals, in the order of the MQTT 3.1.1 return codes 1..5.
    connection_refused_protocol_version = 40,
    connection_refused_identifier_rejected,
    connection_refused_server_unavailable,
    connection_refused_bad_username_password,
    connection_refused_not_authorized,
    connection_refused_unknown_code,

    // Bytes from the network that break the protocol.
    protocol_error = 60,
    malformed_remaining_length,
    packet_too_large,
    reserved_packet_type,
    invalid_fixed_header_flags,
    invalid_remaining_length,
    truncated_packet,
    trailing_bytes,
    packet_id_zero,
    invalid_protocol_name,
    unsupported_protocol_level,
    invalid_connect_flags,
    invalid_connack_flags,
    invalid_connack_return_code,  // no longer produced: codes 6..255 give connection_refused_unknown_code
    empty_subscription_list,
    invalid_subscribe_options,
    invalid_suback_return_code,
    unexpected_packet,
};

}  // namespace v1
}  // namespace mqtt

// Lets an errc stand wherever a std::error_code is expected.
template <>
struct std::is_error_code_enum<mqtt::errc> : std::true_type {};

namespace mqtt {
inline namespace v1 {

namespace detail {
class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "mqtt"; }
    std::string message(int value) const override;
};

inline std::string error_category_impl::message(int value) const
{
    switch (static_cast<errc>(value)) {
    case errc::success: return "success";
    case errc::invalid_argument: return "invalid argument";
    case errc::invalid_qos: return "QoS must be 0, 1 or 2";
    case errc::invalid_topic: return "invalid topic name";
    case errc::invalid_topic_filter: return "invalid topic filter";
    case errc::invalid_utf8: return "string is not well-formed UTF-8";
    case errc::utf8_null_character: return "string contains U+0000";
    case errc::string_too_long: return "string longer than 65535 bytes";
    case errc::payload_too_large: return "payload too large (a PUBLISH packet holds 268435455 bytes, a will payload 65535)";
    case errc::invalid_client_id: return "invalid client identifier";
    case errc::not_connected: return "not connected";
    case errc::already_connected: return "already connected";
    case errc::loop_already_running: return "the message loop is already running";
    case errc::loop_not_running: return "the message loop is not running";
    case errc::would_deadlock: return "blocking wait on the message-loop thread would deadlock";
    case errc::queue_full: return "outgoing queue is full";
    case errc::timeout: return "timed out";
    case errc::connect_timeout: return "connect timed out";
    case errc::connection_lost: return "connection lost";
    case errc::keepalive_timeout: return "keepalive timeout: no answer from the broker";
    case errc::disconnected: return "disconnected before completion";
    case errc::shutdown: return "client shut down before completion";
    case errc::no_packet_id_available: return "all 65535 packet identifiers are in use";
    case errc::subscription_refused: return "subscription refused by the broker";
    case errc::connection_refused_protocol_version: return "connection refused: unacceptable protocol version";
    case errc::connection_refused_identifier_rejected: return "connection refused: identifier rejected";
    case errc::connection_refused_server_unavailable: return "connection refused: server unavailable";
    case errc::connection_refused_bad_username_password: return "connection refused: bad user name or password";
    case errc::connection_refused_not_authorized: return "connection refused: not authorized";
    case errc::connection_refused_unknown_code: return "connection refused: unknown return code";
    case errc::protocol_error: return "protocol error";
    case errc::malformed_remaining_length: return "malformed remaining length (more than 4 bytes)";
    case errc::packet_too_large: return "packet larger than the maximum packet size";
    case errc::reserved_packet_type: return "reserved packet type (0 or 15)";
    case errc::invalid_fixed_header_flags: return "invalid flags in the fixed header";
    case errc::invalid_remaining_length: return "remaining length does not fit the packet type";
    case errc::truncated_packet: return "packet content ends before a field is complete";
    case errc::trailing_bytes: return "bytes left over after the last field of the packet";
    case errc::packet_id_zero: return "packet identifier 0 where one is required";
    case errc::invalid_protocol_name: return "invalid protocol name in CONNECT";
    case errc::unsupported_protocol_level: return "unsupported protocol level in CONNECT";
    case errc::invalid_connect_flags: return "invalid CONNECT flags";
    case errc::invalid_connack_flags: return "invalid CONNACK acknowledge flags";
    case errc::invalid_connack_return_code: return "invalid CONNACK return code";
    case errc::empty_subscription_list: return "SUBSCRIBE or UNSUBSCRIBE without a topic filter";
    case errc::invalid_subscribe_options: return "reserved bits set in a requested QoS byte";
    case errc::invalid_suback_return_code: return "invalid SUBACK return code";
    case errc::unexpected_packet: return "packet not expected in this direction or state";
    }
    return "unknown mqtt error " + std::to_string(value);
}
}  // namespace detail

inline const std::error_category& error_category() noexcept
{
    static const detail::error_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

// Thrown by the throwing overloads; what() names the cause.
class error : public std::system_error {
public:
    using std::system_error::system_error;
};

}  // namespace v1
}  // namespace mqtt
