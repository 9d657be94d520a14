// mqtt_sub: subscribes to topics and prints the messages, with the everyday
// flags, output and exit codes of mosquitto_sub.
//
//   mqtt_sub [-h host] [-p port] -t topic... [-q qos] [-v] [-N] [-R] [-C count] [-W secs] [-E] [-U topic]...
//
// Exit codes: 0 done (-C count reached, -E, SIGINT/SIGTERM), 1 usage or
// network error, 1..5 the broker's CONNACK refusal code, 27 -W timed out.

#include "cli/options.hpp"
#include "cli/session.hpp"
#include "cli/signal_waiter.hpp"

#include <mqtt/client.hpp>
#include <mqtt/version.hpp>

#include <chrono>
#include <climits>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

constexpr const char* tool = "mqtt_sub";
constexpr int exit_timed_out = 27;  // mosquitto's MOSQ_ERR_TIMEOUT, what mosquitto_sub -W exits with

struct sub_options {
    cli::common_options common;
    std::vector<std::string> topics;  // -t, repeatable
    std::vector<std::string> unsubscribe;  // -U, repeatable
    int count = 0;  // -C: exit after this many messages (0: never)
    int timeout = 0;  // -W: exit with 27 after this many seconds (0: never)
    bool verbose = false;  // -v: "topic payload"
    bool eol = true;  // -N turns off the newline after each message
    bool no_retain = false;  // -R: skip retained ("stale") messages
    bool exit_after_sub = false;  // -E: exit once the broker acknowledged the (un)subscriptions
};

void print_usage()
{
    std::printf(
        "mqtt_sub subscribes to topics and prints the messages it receives (MQTT 3.1.1 / 3.1).\n"
        "mqtt_sub version %d.%d.%d (mqtt_client).\n\n"
        "Usage: mqtt_sub [-h host] [-p port] -t topic [-t topic ...] [-q qos]\n"
        "                [-c] [-k keepalive] [-i id | -I id_prefix] [-u username [-P password]]\n"
        "                [-C msg_count] [-E] [-N] [-R] [-U topic ...] [-v] [-W timeout_secs]\n"
        "                [-V 31|311] [-d] [--quiet]\n"
        "                [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n"
        "       mqtt_sub --help | --version\n\n"
        " -c : disable clean session (needs -i or -I): the broker keeps the subscriptions.\n"
        " -C : disconnect and exit after receiving msg_count messages.\n"
        " -d : print the client library's debug log on stderr.\n"
        " -E : exit once all subscriptions (and -U unsubscriptions) were acknowledged.\n"
        " -h : broker host, default localhost.\n"
        " -i : client id; default: none, the broker assigns one (-V 31: a random one).\n"
        " -I : client id prefix; the process id is appended.\n"
        " -k : keepalive in seconds, 5..65535, default 60.\n"
        " -N : do not print a newline after each payload.\n"
        " -p : broker port, default 1883.\n"
        " -P : password (with -u).\n"
        " -q : QoS of the subscriptions, 0..2, default 0.\n"
        " -R : do not print stale messages (those with the retain flag set).\n"
        " -t : topic filter to subscribe to; may be repeated.\n"
        " -u : user name.\n"
        " -U : topic filter to unsubscribe from; may be repeated.\n"
        " -v : print \"topic payload\" (an empty payload prints as \"topic (null)\").\n"
        " -V : protocol version: 311 or mqttv311 (default), 31 or mqttv31.\n"
        " -W : exit with code 27 after timeout_secs seconds.\n"
        " --quiet : do not print error messages.\n"
        " --will-topic, --will-payload, --will-qos, --will-retain : the will the broker\n"
        "      publishes when this client goes away without disconnecting.\n\n"
        "Exit codes: 0 success, 1 usage or network error, 1-5 CONNACK refusal code, 27 -W timeout.\n",
        mqtt::version_major, mqtt::version_minor, mqtt::version_patch);
}

sub_options parse(int argc, char** argv)
{
    sub_options o;
    cli::arg_reader args(argc, argv);
    while (!args.done()) {
        const std::string flag = args.next();
        if (cli::parse_common_flag(flag, args, o.common)) continue;
        if (flag == "-t" || flag == "--topic") {
            o.topics.push_back(args.value(flag, "topic"));
            cli::check_topic_filter(o.topics.back(), "subscription");
        } else if (flag == "-U" || flag == "--unsubscribe") {
            o.unsubscribe.push_back(args.value(flag, "unsubscribe topic"));
            cli::check_topic_filter(o.unsubscribe.back(), "unsubscribe");
        } else if (flag == "-C") {
            const auto text = args.value(flag, "count");
            const auto n = cli::parse_number(text, 1, INT_MAX);
            if (!n) throw cli::usage_error("Invalid message count \"" + text + "\".");
            o.count = static_cast<int>(*n);
        } else if (flag == "-W") {
            const auto text = args.value(flag, "timeout");
            const auto n = cli::parse_number(text, 1, INT_MAX / 1000);
            if (!n) throw cli::usage_error("Invalid timeout \"" + text + "\".");
            o.timeout = static_cast<int>(*n);
        } else if (flag == "-v" || flag == "--verbose") {
            o.verbose = true;
        } else if (flag == "-N") {
            o.eol = false;
        } else if (flag == "-R") {
            o.no_retain = true;
        } else if (flag == "-E") {
            o.exit_after_sub = true;
        } else {
            cli::unknown_option(flag);
        }
    }
    if (o.common.help || o.common.version_requested) return o;
    if (o.topics.empty()) throw cli::usage_error("You must specify a topic to subscribe to.");
    cli::check_common_options(o.common);
    return o;
}

// mosquitto_sub's plain output: the payload bytes as they are, a newline
// unless -N; with -v the topic and a space first. A zero-length payload
// prints nothing, or "topic (null)" with -v (not with -v -N).
void print_message(const sub_options& o, const mqtt::message& m)
{
    std::string out;
    if (o.verbose) {
        if (!m.payload.empty())
            out = m.topic + ' ' + m.payload + (o.eol ? "\n" : "");
        else if (o.eol)
            out = m.topic + " (null)\n";
    } else if (!m.payload.empty()) {
        out = m.payload + (o.eol ? "\n" : "");
    }
    if (out.empty()) return;
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

// What the callbacks (loop thread) tell main: the run is over, how, and why.
class outcome {
public:
    explicit outcome(cli::signal_waiter& waiter) : waiter_(waiter) {}

    // The first call wins; later ones (a message after -C was reached) change nothing.
    void finish(int exit_code, std::string message = {})
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (finished_) return;
            finished_ = true;
            exit_code_ = exit_code;
            message_ = std::move(message);
        }
        waiter_.wake();
    }
    bool finished() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return finished_;
    }
    std::pair<int, std::string> result() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return {exit_code_, message_};
    }

private:
    cli::signal_waiter& waiter_;
    mutable std::mutex mutex_;
    bool finished_ = false;
    int exit_code_ = 0;
    std::string message_;
};

// Subscribes in on_connect, as mosquitto_sub does: after every (re)connect,
// so the library's own resubscribing is off.
void install_callbacks(mqtt::client& client, const sub_options& o, outcome& result)
{
    struct loop_state {  // touched by the loop thread only
        bool connected_once = false;
        std::size_t acks = 0;
        int received = 0;
    };
    auto st = std::make_shared<loop_state>();
    const std::size_t acks_expected = 1 + o.unsubscribe.size();

    client.on_connect = [&o, &result, st](mqtt::client& c, bool, int rc) {
        if (rc != 0) return result.finish(rc, std::string("Connection error: ") + cli::connack_string(rc));
        st->connected_once = true;
        st->acks = 0;
        std::vector<std::pair<std::string, int>> filters;
        for (const auto& t : o.topics) filters.emplace_back(t, o.common.qos);
        if (auto [ec, mid] = c.subscribe(filters); ec) return result.finish(1, "Error: subscribe failed: " + ec.message());
        for (const auto& t : o.unsubscribe) {
            if (auto [ec, mid] = c.unsubscribe(t); ec)
                return result.finish(1, "Error: unsubscribe failed: " + ec.message());
        }
    };
    // Only a first connect that fails ends the run; later, the library
    // retries in the background as mosquitto_sub does.
    client.on_connect_fail = [&o, &result, st](mqtt::client&, std::error_code reason) {
        if (!st->connected_once) result.finish(cli::connect_exit_code(reason), cli::describe_connect_error(reason, o.common));
    };
    const auto acked = [&o, &result, st, acks_expected] {
        if (++st->acks == acks_expected && o.exit_after_sub) result.finish(0);
    };
    client.on_subscribe = [&result, acked](mqtt::client&, int, const std::vector<int>& granted) {
        bool any_granted = false;
        for (int q : granted) any_granted = any_granted || q < 0x80;
        if (!any_granted) return result.finish(1, "All subscription requests were denied.");
        acked();
    };
    client.on_unsubscribe = [acked](mqtt::client&, int) { acked(); };
    client.on_message = [&o, &result, st](mqtt::client&, const mqtt::message& m) {
        if (result.finished()) return;
        if (o.no_retain && m.retain) return;  // skipped, not counted (as mosquitto_sub -R)
        print_message(o, m);
        if (o.count > 0 && ++st->received == o.count) result.finish(0);
    };
}

}  // namespace

int main(int argc, char* argv[])
{
    cli::signal_waiter waiter;  // first: every thread started later inherits its signal mask
    sub_options o;
    try {
        o = parse(argc, argv);
    } catch (const cli::usage_error& e) {
        return cli::report_usage_error(tool, e);
    }
    if (cli::print_help_or_version(tool, o, print_usage)) return 0;

    outcome result(waiter);  // before the client, which refers to it until destroyed
    std::unique_ptr<mqtt::client> client;
    try {
        client = std::make_unique<mqtt::client>(cli::client_id(o.common), o.common.clean_session,
                                                cli::protocol(o.common));
        cli::configure(*client, o.common);
    } catch (const mqtt::error& e) {
        cli::error_line(o.common, std::string("Error: ") + e.what());
        return 1;
    }
    client->resubscribe_on_reconnect_set(false);
    install_callbacks(*client, o, result);

    if (auto ec = client->connect_async(o.common.host, o.common.port, o.common.keepalive)) {
        cli::error_line(o.common, cli::describe_connect_error(ec, o.common));
        return 1;
    }
    client->loop_start();

    std::optional<cli::signal_waiter::clock::time_point> deadline;
    if (o.timeout > 0) deadline = cli::signal_waiter::clock::now() + std::chrono::seconds(o.timeout);
    int exit_code = 0;
    for (;;) {
        if (result.finished()) {
            auto [code, message] = result.result();
            if (!message.empty()) cli::error_line(o.common, message);
            exit_code = code;
            break;
        }
        const auto why = waiter.wait(deadline);
        if (why == cli::signal_waiter::result::interrupted) break;  // SIGINT/SIGTERM: a clean goodbye, exit 0
        if (why == cli::signal_waiter::result::timed_out && !result.finished()) {
            cli::error_line(o.common, "Timed out");
            exit_code = exit_timed_out;
            break;
        }
    }
    result.finish(exit_code);  // later messages are not printed any more
    client->disconnect();
    client->loop_stop();
    return exit_code;
}
