#pragma once

// Command-line parsing shared by mqtt_pub and mqtt_sub: the argument reader,
// number and topic checks, and the flags both tools take (connection, client
// id, credentials, will), with mosquitto_pub/mosquitto_sub's names, ranges
// and error wording. No sockets here: <mqtt/protocol/topic_rules.hpp> is
// sans-IO.

#include <mqtt/protocol/topic_rules.hpp>
#include <mqtt/version.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cli {

// A bad command line: what() is the message, printed as "Error: <what>"
// followed by a hint to --help; the tools exit with 1, as mosquitto's do.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline int report_usage_error(const char* tool, const usage_error& e)
{
    std::fprintf(stderr, "Error: %s\nUse '%s --help' to see usage.\n", e.what(), tool);
    return 1;
}

// What --help and --version print, shared by both tools: returns true when
// one was asked for (the tool then exits 0).
template <class Options>
bool print_help_or_version(const char* tool, const Options& o, void (*print_usage)())
{
    if (o.common.help) {
        print_usage();
        return true;
    }
    if (o.common.version_requested) {
        std::printf("%s version %d.%d.%d (mqtt_client)\n", tool, mqtt::version_major, mqtt::version_minor,
                    mqtt::version_patch);
        return true;
    }
    return false;
}

// Walks argv. Flags are whole arguments ("-v -N", not "-vN"; "-t a", not "-ta"), as in mosquitto.
class arg_reader {
public:
    arg_reader(int argc, char** argv) : argc_(argc), argv_(argv) {}

    bool done() const { return next_ >= argc_; }
    std::string next() { return argv_[next_++]; }

    // The value after `flag`, or a usage error: "-t argument given but no topic specified."
    std::string value(const std::string& flag, const char* what)
    {
        if (done()) throw usage_error(flag + " argument given but no " + what + " specified.");
        return next();
    }

private:
    int argc_;
    char** argv_;
    int next_ = 1;
};

// A whole decimal number in [min, max], or nullopt. Stricter than mosquitto's
// atoi, which reads "abc" as 0.
inline std::optional<long> parse_number(const std::string& text, long min, long max)
{
    if (text.empty() || text.size() > 18) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const long n = std::strtol(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) return std::nullopt;
    return n;
}

inline int parse_qos(const std::string& text, const char* what = "QoS given")
{
    const auto n = parse_number(text, 0, 2);
    if (!n) throw usage_error(std::string("Invalid ") + what + ": " + text);
    return static_cast<int>(*n);
}

// kind: "publish", "will" (topic names) or "subscription", "unsubscribe" (filters).
inline void check_topic_name(const std::string& topic, const char* kind)
{
    const auto ec = mqtt::protocol::validate_topic_name(topic);
    if (!ec) return;
    const std::string why = topic.empty()                  ? "a topic must not be empty"
                            : ec == mqtt::errc::invalid_topic ? "it must not contain '+' or '#'"
                                                              : ec.message();
    throw usage_error(std::string("Invalid ") + kind + " topic '" + topic + "': " + why + ".");
}

inline void check_topic_filter(const std::string& filter, const char* kind)
{
    const auto ec = mqtt::protocol::validate_topic_filter(filter);
    if (!ec) return;
    const std::string why = filter.empty() ? "a topic filter must not be empty"
                            : ec == mqtt::errc::invalid_topic_filter
                                ? "'+' and '#' must each fill a whole level, '#' only the last"
                                : ec.message();
    throw usage_error(std::string("Invalid ") + kind + " topic '" + filter + "': " + why + ".");
}

enum class mqtt_version { v31, v311 };

struct will_options {
    std::optional<std::string> topic;
    std::optional<std::string> payload;
    std::optional<int> qos;
    bool retain = false;
};

// The flags both tools take.
struct common_options {
    std::string host = "localhost";
    std::uint16_t port = 1883;
    int keepalive = 60;
    mqtt_version version = mqtt_version::v311;
    std::optional<std::string> id;
    std::optional<std::string> id_prefix;
    std::optional<std::string> username;
    std::optional<std::string> password;
    bool clean_session = true;  // -c turns it off
    bool debug = false;  // -d: the library's log lines on stderr
    bool quiet = false;  // --quiet: no error messages after the command line was accepted
    bool help = false;
    bool version_requested = false;
    int qos = 0;  // -q: of the publish (mqtt_pub) or of the subscriptions (mqtt_sub)
    will_options will;
};

// Consumes `flag` (and its value) when it is one of the common flags.
inline bool parse_common_flag(const std::string& flag, arg_reader& args, common_options& o)
{
    if (flag == "-h" || flag == "--host") {
        o.host = args.value(flag, "host");
        if (o.host.empty()) throw usage_error("Invalid host given: it is empty.");
    } else if (flag == "-p" || flag == "--port") {
        const auto text = args.value(flag, "port");
        const auto n = parse_number(text, 1, 65535);
        if (!n) throw usage_error("Invalid port given: " + text);
        o.port = static_cast<std::uint16_t>(*n);
    } else if (flag == "-k" || flag == "--keepalive") {
        const auto n = parse_number(args.value(flag, "keepalive"), 5, 65535);
        if (!n) throw usage_error("Invalid keepalive given, it must be between 5 and 65535 inclusive.");
        o.keepalive = static_cast<int>(*n);
    } else if (flag == "-q" || flag == "--qos") {
        o.qos = parse_qos(args.value(flag, "QoS"));
    } else if (flag == "-V" || flag == "--protocol-version") {
        const auto v = args.value(flag, "version");
        if (v == "31" || v == "mqttv31") {
            o.version = mqtt_version::v31;
        } else if (v == "311" || v == "mqttv311") {
            o.version = mqtt_version::v311;
        } else if (v == "5" || v == "mqttv5") {
            throw usage_error("MQTT v5 is not supported: this client speaks MQTT 3.1.1 (-V 311, the default) "
                              "and 3.1 (-V 31).");
        } else {
            throw usage_error("Invalid protocol version '" + v + "': use 31, mqttv31, 311 or mqttv311.");
        }
    } else if (flag == "-i" || flag == "--id") {
        o.id = args.value(flag, "id");
        if (o.id->empty()) throw usage_error("Invalid id: it is empty.");
    } else if (flag == "-I" || flag == "--id-prefix") {
        o.id_prefix = args.value(flag, "id prefix");
    } else if (flag == "-u" || flag == "--username") {
        o.username = args.value(flag, "username");
    } else if (flag == "-P" || flag == "--pw") {
        o.password = args.value(flag, "password");
    } else if (flag == "-c" || flag == "--disable-clean-session") {
        o.clean_session = false;
    } else if (flag == "-d" || flag == "--debug") {
        o.debug = true;
    } else if (flag == "--quiet") {
        o.quiet = true;
    } else if (flag == "--will-topic") {
        o.will.topic = args.value(flag, "will topic");
        check_topic_name(*o.will.topic, "will");
    } else if (flag == "--will-payload") {
        o.will.payload = args.value(flag, "will payload");
    } else if (flag == "--will-qos") {
        o.will.qos = parse_qos(args.value(flag, "will QoS"), "will QoS");
    } else if (flag == "--will-retain") {
        o.will.retain = true;
    } else if (flag == "--help") {
        o.help = true;
    } else if (flag == "--version") {
        o.version_requested = true;
    } else {
        return false;
    }
    return true;
}

// The rules between common flags, checked once the whole line is read.
inline void check_common_options(const common_options& o)
{
    if (o.id && o.id_prefix) throw usage_error("-i and -I argument cannot be used together.");
    if (!o.clean_session && !o.id && !o.id_prefix)
        throw usage_error("You must provide a client id if you are using the -c option.");
    if (o.password && !o.username)
        throw usage_error("-P given without -u: MQTT 3.1.1 sends a password only with a user name.");
    if (!o.will.topic) {
        if (o.will.payload) throw usage_error("Will payload given, but no will topic given.");
        if (o.will.retain) throw usage_error("Will retain given, but no will topic given.");
        if (o.will.qos) throw usage_error("Will QoS given, but no will topic given.");
    }
}

// "Unknown option '-z'." for anything neither the common nor the tool's own flags took.
[[noreturn]] inline void unknown_option(const std::string& flag)
{
    throw usage_error("Unknown option '" + flag + "'.");
}

}  // namespace cli
