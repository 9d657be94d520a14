// mqtt_pub: publishes one message (or one per stdin line) and exits, with the
// everyday flags and exit codes of mosquitto_pub.
//
//   mqtt_pub [-h host] [-p port] -t topic {-m message | -f file | -l | -s | -n} [-q qos] [-r]
//
// Exit codes: 0 published (QoS 1/2: acknowledged), 1 usage, input or network
// error, 1..5 the broker's CONNACK refusal code.

#include "cli/options.hpp"
#include "cli/session.hpp"

#include <mqtt/client.hpp>
#include <mqtt/version.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

namespace {

constexpr const char* tool = "mqtt_pub";

enum class source { none, message, file, stdin_lines, stdin_whole, null_message };

struct pub_options {
    cli::common_options common;
    std::string topic;
    source from = source::none;
    std::string message;  // -m
    std::string file;  // -f
    bool retain = false;  // -r
};

void print_usage()
{
    std::printf(
        "mqtt_pub publishes a message on a topic and exits (MQTT 3.1.1 / 3.1).\n"
        "mqtt_pub version %d.%d.%d (mqtt_client).\n\n"
        "Usage: mqtt_pub [-h host] [-p port] -t topic {-m message | -f file | -l | -s | -n}\n"
        "                [-q qos] [-r] [-c] [-k keepalive] [-i id | -I id_prefix]\n"
        "                [-u username [-P password]] [-V 31|311] [-d] [--quiet]\n"
        "                [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n"
        "       mqtt_pub --help | --version\n\n"
        " -c : disable clean session (needs -i or -I).\n"
        " -d : print the client library's debug log on stderr.\n"
        " -f : send the contents of a file as the message (any bytes; an empty file sends a\n"
        "      zero-length message).\n"
        " -h : broker host, default localhost.\n"
        " -i : client id; default: none, the broker assigns one (-V 31: a random one).\n"
        " -I : client id prefix; the process id is appended.\n"
        " -k : keepalive in seconds, 5..65535, default 60.\n"
        " -l : read stdin, send each line as a message (without its newline; an empty line\n"
        "      sends a zero-length message).\n"
        " -m : the message payload.\n"
        " -n : send a null (zero-length) message.\n"
        " -p : broker port, default 1883.\n"
        " -P : password (with -u).\n"
        " -q : QoS of the messages, 0..2, default 0. QoS 1/2 wait for the acknowledgement.\n"
        " -r : the message is retained.\n"
        " -s : read stdin, send all of it as one message.\n"
        " -t : the topic to publish on.\n"
        " -u : user name.\n"
        " -V : protocol version: 311 or mqttv311 (default), 31 or mqttv31.\n"
        " --quiet : do not print error messages.\n"
        " --will-topic, --will-payload, --will-qos, --will-retain : the will the broker\n"
        "      publishes when this client goes away without disconnecting.\n\n"
        "Exit codes: 0 success, 1 usage, input or network error, 1-5 CONNACK refusal code.\n",
        mqtt::version_major, mqtt::version_minor, mqtt::version_patch);
}

void set_source(pub_options& o, source from)
{
    if (o.from != source::none) throw cli::usage_error("Only one type of message can be sent at once.");
    o.from = from;
}

pub_options parse(int argc, char** argv)
{
    pub_options o;
    bool have_topic = false;
    cli::arg_reader args(argc, argv);
    while (!args.done()) {
        const std::string flag = args.next();
        if (cli::parse_common_flag(flag, args, o.common)) continue;
        if (flag == "-t" || flag == "--topic") {
            o.topic = args.value(flag, "topic");  // the last -t wins, as in mosquitto_pub
            cli::check_topic_name(o.topic, "publish");
            have_topic = true;
        } else if (flag == "-m" || flag == "--message") {
            o.message = args.value(flag, "message");
            set_source(o, source::message);
        } else if (flag == "-f" || flag == "--file") {
            o.file = args.value(flag, "file");
            set_source(o, source::file);
        } else if (flag == "-l" || flag == "--stdin-line") {
            set_source(o, source::stdin_lines);
        } else if (flag == "-s" || flag == "--stdin-file") {
            set_source(o, source::stdin_whole);
        } else if (flag == "-n" || flag == "--null-message") {
            set_source(o, source::null_message);
        } else if (flag == "-r" || flag == "--retain") {
            o.retain = true;
        } else {
            cli::unknown_option(flag);
        }
    }
    if (o.common.help || o.common.version_requested) return o;
    if (!have_topic || o.from == source::none) throw cli::usage_error("Both topic and message must be supplied.");
    cli::check_common_options(o.common);
    return o;
}

// The whole file, byte for byte; nullopt with the cause printed.
std::optional<std::string> read_file(const pub_options& o)
{
    std::FILE* f = std::fopen(o.file.c_str(), "rb");
    if (!f) {
        cli::error_line(o.common, "Error: Unable to open file \"" + o.file + "\": " + std::strerror(errno) + ".");
        return std::nullopt;
    }
    std::string data;
    char buffer[64 * 1024];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) data.append(buffer, n);
    const bool failed = std::ferror(f) != 0;
    const int cause = errno;
    std::fclose(f);
    if (failed) {
        cli::error_line(o.common, "Error: Unable to read file \"" + o.file + "\": " + std::strerror(cause) + ".");
        return std::nullopt;
    }
    return data;
}

// The message -m, -f, -s or -n sends; nullopt with the cause printed.
std::optional<std::string> single_payload(const pub_options& o)
{
    switch (o.from) {
    case source::message: return o.message;
    case source::file: return read_file(o);
    case source::stdin_whole: {
        std::string data{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
        if (data.empty()) {  // as mosquitto_pub -s (while -f with an empty file sends a null message)
            cli::error_line(o.common, "Error: Zero length input on stdin.");
            return std::nullopt;
        }
        return data;
    }
    default: return std::string();
    }
}

// Completed: published, or failed (rc() set).
bool done(const mqtt::message_info& info)
{
    return info.is_published() || info.rc();
}

// -l: a message per line, published as the line arrives; QoS 1/2 ones are
// pipelined, at most `window` unacknowledged. "\r" stays in the payload, a
// last line without "\n" is sent too, as mosquitto_pub -l.
std::error_code publish_lines(mqtt::client& client, const pub_options& o)
{
    constexpr std::size_t window = 1000;
    std::deque<mqtt::message_info> open;
    std::string line;
    while (std::getline(std::cin, line)) {
        open.push_back(client.publish(o.topic, line, o.common.qos, o.retain));
        while (!open.empty() && (open.size() > window || done(open.front()))) {
            if (auto ec = open.front().wait_for_publish()) return ec;
            open.pop_front();
        }
    }
    for (auto& info : open)
        if (auto ec = info.wait_for_publish()) return ec;
    return {};
}

}  // namespace

int main(int argc, char* argv[])
{
    std::ios::sync_with_stdio(false);  // stdin goes through std::cin only
    pub_options o;
    try {
        o = parse(argc, argv);
    } catch (const cli::usage_error& e) {
        return cli::report_usage_error(tool, e);
    }
    if (cli::print_help_or_version(tool, o, print_usage)) return 0;

    // Read before connecting, so a bad file costs no connection (as mosquitto_pub).
    std::optional<std::string> payload;
    if (o.from != source::stdin_lines) {
        payload = single_payload(o);
        if (!payload) return 1;
    }

    try {
        mqtt::client client(cli::client_id(o.common), o.common.clean_session, cli::protocol(o.common));
        cli::configure(client, o.common);

        std::error_code ec;
        client.connect(o.common.host, o.common.port, o.common.keepalive, ec);
        if (ec) {
            cli::error_line(o.common, cli::describe_connect_error(ec, o.common));
            if (cli::connack_code(ec)) cli::error_line(o.common, "Error: The connection was refused.");
            return cli::connect_exit_code(ec);
        }
        client.loop_start();
        std::string failure;
        try {
            if (o.from == source::stdin_lines)
                ec = publish_lines(client, o);
            else
                ec = client.publish(o.topic, *payload, o.common.qos, o.retain).wait_for_publish();
            if (ec) failure = "Error: publish failed: " + ec.message() + ".";
        } catch (const mqtt::error& e) {  // a payload over 256 MiB: still say goodbye, so no will is sent
            failure = std::string("Error: ") + e.what();
        }
        client.disconnect();
        client.loop_stop();
        if (!failure.empty()) {
            cli::error_line(o.common, failure);
            return 1;
        }
    } catch (const mqtt::error& e) {  // refused settings: a 3.1 client id over 23 characters, a will over 64 KiB
        cli::error_line(o.common, std::string("Error: ") + e.what());
        return 1;
    }
    return 0;
}
