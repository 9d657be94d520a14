// A fleet of simulated temperature sensors on one io_context and one thread:
// each sensor is its own mqtt::async_client (its own connection) publishing a
// reading every second to house/sensors/<i>/temperature; one more client
// subscribes to house/sensors/+/temperature and counts. Every second the
// program prints the aggregate rate; at the end (after --seconds, or on
// Ctrl-C) a summary.
//
//   async_sensor_fleet [--sensors N] [--seconds S] [--host H] [--port P] [--qos Q]
//   defaults: 1000 sensors, 10 seconds, localhost 1883, QoS 0
//
// Exit status 0 when every sensor connected and the subscriber received
// every reading that was published, 1 otherwise, 2 on bad arguments.
//
// Mosquitto takes up to 100 handshakes at a time in its listen backlog, so
// the sensors connect in waves of 100 (each connection started when an
// earlier one completes). Thousands of sensors need as many file descriptors:
// the program raises its soft limit (ulimit -n) to the hard limit when needed.

#include <mqtt/async_client.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::size_t sensors = 1000;
    int seconds = 10;
    std::string host = "localhost";
    std::uint16_t port = 1883;
    int qos = 0;
};

[[noreturn]] void usage(const char* why)
{
    std::cerr << "async_sensor_fleet: " << why << "\n"
              << "usage: async_sensor_fleet [--sensors N] [--seconds S] [--host H] [--port P] [--qos 0|1|2]\n";
    std::exit(2);
}

long parse_number(const char* text, long min, long max, const char* what)
{
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < min || v > max) usage((std::string("bad value for ") + what).c_str());
    return v;
}

options parse(int argc, char* argv[])
{
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") usage("help");
        if (arg != "--sensors" && arg != "--seconds" && arg != "--host" && arg != "--port" && arg != "--qos")
            usage(("unknown option " + std::string(arg)).c_str());
        if (i + 1 >= argc) usage(("missing value after " + std::string(arg)).c_str());
        const char* value = argv[++i];
        if (arg == "--sensors")
            o.sensors = static_cast<std::size_t>(parse_number(value, 1, 1000000, "--sensors"));
        else if (arg == "--seconds")
            o.seconds = static_cast<int>(parse_number(value, 1, 1000000, "--seconds"));
        else if (arg == "--host")
            o.host = value;
        else if (arg == "--port")
            o.port = static_cast<std::uint16_t>(parse_number(value, 1, 65535, "--port"));
        else
            o.qos = static_cast<int>(parse_number(value, 0, 2, "--qos"));
    }
    return o;
}

// One descriptor per sensor plus a margin; raises the soft limit if it can.
void raise_descriptor_limit(std::size_t sensors)
{
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    const rlim_t wanted = static_cast<rlim_t>(sensors) + 64;
    if (rl.rlim_cur >= wanted) return;
    rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= wanted) ? wanted : rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < wanted)
        std::cerr << "async_sensor_fleet: only " << rl.rlim_cur << " file descriptors (ulimit -n) for " << sensors
                  << " sensors; some will fail to connect\n";
}

// A slow swing per sensor plus a little wobble: 18..24 degrees.
double temperature(std::size_t sensor, long tick)
{
    return 21.0 + 3.0 * std::sin(static_cast<double>(sensor) * 0.7 + static_cast<double>(tick) / 30.0) +
           0.1 * std::sin(static_cast<double>(tick) * 1.3);
}

class fleet {
public:
    fleet(asio::io_context& io, options o, std::function<void()> on_done)
        : io_(io), options_(std::move(o)), on_done_(std::move(on_done)), subscriber_(io, ""), report_(io)
    {
        sensors_.reserve(options_.sensors);
        for (std::size_t i = 0; i < options_.sensors; ++i) sensors_.push_back(std::make_unique<sensor>(io));
        subscriber_.on_message = [this](mqtt::async_client&, const mqtt::message&) {
            ++received_;
            ++received_this_second_;
        };
    }

    void start()
    {
        std::cout << "connecting the subscriber to " << options_.host << ":" << options_.port << std::endl;
        subscriber_.async_connect(options_.host, options_.port, 60, [this](std::error_code ec, bool) {
            if (ec) return fail("subscriber: connect failed: " + ec.message());
            subscriber_.async_subscribe("house/sensors/+/temperature", options_.qos,
                                        [this](std::error_code ec2, std::vector<int>) {
                                            if (ec2) return fail("subscriber: subscribe failed: " + ec2.message());
                                            std::cout << "subscribed to house/sensors/+/temperature; connecting "
                                                      << sensors_.size() << " sensors" << std::endl;
                                            started_ = clock_type::now();
                                            for (int k = 0; k < 100; ++k) connect_next();
                                            tick_report();
                                        });
        });
    }

    // Stops publishing, says goodbye, prints the summary once everything is done.
    void stop()
    {
        if (stopping_) return;
        stopping_ = true;
        report_.cancel();
        stopped_at_ = clock_type::now();
        std::size_t pending = 0;
        for (auto& s : sensors_) {
            s->timer.cancel();
            if (!s->connected) continue;
            ++pending;
        }
        pending_disconnects_ = pending;
        if (pending == 0) return drain(clock_type::now() + std::chrono::seconds(2));
        for (auto& s : sensors_) {
            if (!s->connected) continue;
            s->client.async_disconnect([this](std::error_code) {
                if (--pending_disconnects_ == 0) drain(clock_type::now() + std::chrono::seconds(2));
            });
        }
    }

    int exit_status() const { return ok_ ? 0 : 1; }

private:
    struct sensor {
        explicit sensor(asio::io_context& io) : client(io, ""), timer(io) {}
        mqtt::async_client client;
        asio::steady_timer timer;
        bool connected = false;
        long tick = 0;
    };

    void fail(const std::string& what)
    {
        std::cerr << "async_sensor_fleet: " << what << std::endl;
        ok_ = false;
        io_.stop();  // the clients' destructors fail what is pending
    }

    // Starts the next sensor's connection; its completion starts the one after.
    void connect_next()
    {
        if (next_to_connect_ == sensors_.size() || stopping_) return;
        const std::size_t i = next_to_connect_++;
        sensors_[i]->client.async_connect(options_.host, options_.port, 60, [this, i](std::error_code ec, bool) {
            connect_next();
            if (ec) {
                if (++connect_failures_ <= 5)
                    std::cerr << "sensor " << i << ": connect failed: " << ec.message() << std::endl;
                ok_ = false;
                return;
            }
            auto& s = *sensors_[i];
            if (stopping_) {  // connected after Ctrl-C: leave again at once
                s.client.async_disconnect([](std::error_code) {});
                return;
            }
            s.connected = true;
            ++connected_;
            if (connected_ == sensors_.size())
                std::cout << "all " << connected_ << " sensors connected in "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started_).count()
                          << " ms" << std::endl;
            // Spread the sensors over the second: sensor i publishes at phase i/N.
            s.timer.expires_after(std::chrono::microseconds(1000000 * i / sensors_.size()));
            s.timer.async_wait([this, i](std::error_code tec) { publish(i, tec); });
        });
    }

    void publish(std::size_t i, std::error_code timer_ec)
    {
        if (timer_ec || stopping_) return;
        auto& s = *sensors_[i];
        char reading[16];
        std::snprintf(reading, sizeof reading, "%.1f", temperature(i, s.tick++));
        ++published_;
        ++published_this_second_;
        s.client.async_publish("house/sensors/" + std::to_string(i) + "/temperature", reading, options_.qos, false,
                               [this](std::error_code ec, int) {
                                   if (ec && ec != asio::error::operation_aborted) {
                                       ++publish_errors_;
                                       ok_ = false;
                                   }
                               });
        s.timer.expires_at(s.timer.expiry() + std::chrono::seconds(1));
        s.timer.async_wait([this, i](std::error_code tec) { publish(i, tec); });
    }

    void tick_report()
    {
        report_.expires_at(started_ + std::chrono::seconds(++seconds_));
        report_.async_wait([this](std::error_code ec) {
            if (ec || stopping_) return;
            std::cout << "t=" << seconds_ << "s  sensors connected " << connected_ << "/" << sensors_.size()
                      << "  published " << published_this_second_ << "/s  received " << received_this_second_
                      << "/s" << std::endl;
            published_this_second_ = 0;
            received_this_second_ = 0;
            if (seconds_ >= options_.seconds) return stop();
            tick_report();
        });
    }

    // Waits (bounded) until the subscriber has every published reading, then
    // disconnects it and prints the summary.
    void drain(clock_type::time_point deadline)
    {
        if (received_ < published_ && clock_type::now() < deadline) {
            report_.expires_after(std::chrono::milliseconds(20));
            report_.async_wait([this, deadline](std::error_code) { drain(deadline); });
            return;
        }
        subscriber_.async_disconnect([this](std::error_code) { summary(); });
    }

    void summary()
    {
        const double seconds = std::chrono::duration<double>(stopped_at_ - started_).count();
        if (received_ != published_) ok_ = false;
        std::cout << "\nsummary: " << connected_ << "/" << sensors_.size() << " sensors connected on one thread, "
                  << published_ << " readings published, " << received_ << " received (QoS " << options_.qos
                  << ") in " << static_cast<long>(seconds * 10) / 10.0 << " s: "
                  << static_cast<long>(seconds > 0 ? static_cast<double>(received_) / seconds : 0.0)
                  << " messages/s on average";
        if (connect_failures_ != 0) std::cout << ", " << connect_failures_ << " connect failures";
        if (publish_errors_ != 0) std::cout << ", " << publish_errors_ << " publish errors";
        if (received_ != published_) std::cout << ", " << (published_ - received_) << " readings missing";
        std::cout << std::endl;
        on_done_();
    }

    asio::io_context& io_;
    const options options_;
    std::function<void()> on_done_;
    mqtt::async_client subscriber_;
    std::vector<std::unique_ptr<sensor>> sensors_;
    asio::steady_timer report_;
    clock_type::time_point started_ = clock_type::now();
    clock_type::time_point stopped_at_ = clock_type::now();
    std::size_t next_to_connect_ = 0;
    std::size_t connected_ = 0;
    std::size_t connect_failures_ = 0;
    std::size_t pending_disconnects_ = 0;
    std::size_t published_ = 0;
    std::size_t received_ = 0;
    std::size_t publish_errors_ = 0;
    std::size_t published_this_second_ = 0;
    std::size_t received_this_second_ = 0;
    int seconds_ = 0;
    bool stopping_ = false;
    bool ok_ = true;
};

}  // namespace

int main(int argc, char* argv[])
{
    const options o = parse(argc, argv);
    raise_descriptor_limit(o.sensors);

    asio::io_context io(1);  // one thread: the hint lets Asio skip some locking
    asio::signal_set signals(io, SIGINT, SIGTERM);
    fleet f(io, o, [&] { signals.cancel(); });
    signals.async_wait([&](std::error_code ec, int) {
        if (!ec) f.stop();
    });
    f.start();
    io.run();  // until the summary is out: then nothing is left to do
    return f.exit_status();
}
