// The scale workloads over libmosquitto: one `struct mosquitto` per client,
// all driven from this one thread.
//
// Why the external-loop API (mosquitto_socket + epoll + mosquitto_loop_read /
// loop_write / loop_misc) and not mosquitto_loop() per client: mosquitto_loop
// waits with select() on that one client's socket, so N clients need N calls
// per round (N system calls even when nothing happens, each waiting or
// spinning), and it refuses any socket numbered FD_SETSIZE (1024) or above
// (MOSQ_ERR_INVAL, lib/loop.c): 10 000 clients cannot be driven that way at
// all. The external loop is how libmosquitto documents integration with an
// application's own event loop, and it scales like ours (one epoll_wait for
// all clients). mosquitto_loop_start would instead start a thread per client.

#include "scale/fleet.hpp"

#include <mosquitto.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using scale::clock;

class mosquitto_fleet;

struct client {
    mosquitto_fleet* fleet = nullptr;
    mosquitto* mosq = nullptr;
    int registered_fd = -1;  // the socket as epoll knows it
    bool watching_write = false;
    bool connect_done = false;
    bool connected = false;
    std::size_t index = 0;
    std::size_t sent = 0;  // active: publishes started
    std::string topic;  // active
    bench::arrival_counter* arrivals = nullptr;  // the subscriber's
    bool subscribed = false;
    bool subscribe_failed = false;
};

class mosquitto_fleet final : public scale::fleet {
public:
    explicit mosquitto_fleet(const scale::options& opts) : fleet(opts), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC))
    {
        if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
    }

    ~mosquitto_fleet() override
    {
        for (auto& c : clients_) mosquitto_destroy(c->mosq);  // closes any socket still open
        if (subscriber_) mosquitto_destroy(subscriber_->mosq);
        ::close(epoll_fd_);
    }

    std::size_t connect(std::size_t count, clock::time_point deadline) override
    {
        const std::size_t first = clients_.size(), target = first + count;
        std::size_t pending = 0, done = 0;
        clients_.reserve(target);
        connect_done_ = [&](client&) {
            --pending;
            ++done;
        };
        while (done < count && clock::now() < deadline) {
            while (pending < opts_.connect_window && clients_.size() < target) {
                clients_.push_back(start_client(clients_.size()));
                ++pending;
                if (clients_.back()->connect_done) connect_done_(*clients_.back());  // failed at once
            }
            poll(10);
        }
        connect_done_ = nullptr;
        std::size_t connected = 0;
        for (std::size_t i = first; i < clients_.size(); ++i) connected += clients_[i]->connected ? 1 : 0;
        return connected;
    }

    void idle(clock::duration period) override
    {
        const auto end = clock::now() + period;
        while (clock::now() < end) poll(remaining_ms(end));
    }

    void subscribe(const std::string& filter, bench::arrival_counter& arrivals, clock::time_point deadline) override
    {
        subscriber_ = start_client(clients_.size() + 1000000);
        subscriber_->arrivals = &arrivals;
        while (!subscriber_->connect_done && clock::now() < deadline) poll(10);
        if (!subscriber_->connected) throw std::runtime_error("subscriber: no CONNACK");
        if (int rc = mosquitto_subscribe(subscriber_->mosq, nullptr, filter.c_str(), opts_.qos))
            throw std::runtime_error(std::string("mosquitto_subscribe: ") + mosquitto_strerror(rc));
        update_interest(*subscriber_);
        while (!subscriber_->subscribed && !subscriber_->subscribe_failed && clock::now() < deadline) poll(10);
        if (!subscriber_->subscribed) throw std::runtime_error("subscriber: no SUBACK granting the QoS");
    }

    std::size_t publish(const std::string& topic_prefix, std::size_t per_client,
                        const bench::arrival_counter& arrivals, clock::time_point deadline) override
    {
        per_client_ = per_client;
        payload_.assign(opts_.payload, 'x');
        for (auto& c : clients_) c->topic = topic_prefix + std::to_string(c->index);
        const auto started = clock::now();
        for (auto& c : clients_)
            for (std::size_t i = 0; i < opts_.window; ++i) publish_next(*c);
        while (!publishing_over(arrivals, clients_.size() * per_client, started, deadline)) poll(10);
        per_client_ = 0;  // completions still to come start nothing more
        return failed_;
    }

    void close(clock::time_point deadline) override
    {
        std::size_t open = 0;
        auto goodbye = [&](client& c) {
            if (mosquitto_socket(c.mosq) < 0) return;
            mosquitto_disconnect(c.mosq);  // written now; the socket closes once it is out
            update_interest(c);
            ++open;
        };
        for (auto& c : clients_) goodbye(*c);
        if (subscriber_) goodbye(*subscriber_);
        while (open > 0 && clock::now() < deadline) {
            poll(10);
            open = 0;
            for (auto& c : clients_) open += mosquitto_socket(c->mosq) >= 0 ? 1 : 0;
            if (subscriber_) open += mosquitto_socket(subscriber_->mosq) >= 0 ? 1 : 0;
        }
    }

private:
    static int remaining_ms(clock::time_point end)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
        return static_cast<int>(std::clamp<long long>(left, 0, 1000));
    }

    std::unique_ptr<client> start_client(std::size_t index)
    {
        auto c = std::make_unique<client>();
        c->fleet = this;
        c->index = index;
        c->mosq = mosquitto_new(client_id(index).c_str(), true, c.get());
        if (!c->mosq) throw std::runtime_error("mosquitto_new failed");
        mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_connect_callback_set(c->mosq, on_connect);
        mosquitto_disconnect_callback_set(c->mosq, on_disconnect);
        mosquitto_publish_callback_set(c->mosq, on_publish);
        mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
        mosquitto_message_callback_set(c->mosq, on_message);
        // Non-blocking TCP connect; CONNECT is written once the socket is writable.
        if (int rc = mosquitto_connect_async(c->mosq, opts_.host.c_str(), opts_.port, opts_.keepalive)) {
            if (connect_errors_++ == 0) std::cerr << "mosquitto: connect_async: " << mosquitto_strerror(rc) << "\n";
            c->connect_done = true;
            return c;
        }
        update_interest(*c);
        return c;
    }

    // Level-triggered interest: always readable, writable while output is queued.
    void update_interest(client& c)
    {
        const int fd = mosquitto_socket(c.mosq);
        if (fd < 0) {  // closed (libmosquitto closed it, which removed it from epoll)
            c.registered_fd = -1;
            return;
        }
        const bool want_write = mosquitto_want_write(c.mosq);
        if (fd == c.registered_fd && want_write == c.watching_write) return;
        epoll_event ev{};
        ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
        ev.data.ptr = &c;
        const int op = fd == c.registered_fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (::epoll_ctl(epoll_fd_, op, fd, &ev) != 0)
            throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
        c.registered_fd = fd;
        c.watching_write = want_write;
    }

    // One epoll_wait for every client, then the keepalive checks once a second.
    void poll(int timeout_ms)
    {
        epoll_event events[256];
        const int n = ::epoll_wait(epoll_fd_, events, 256, timeout_ms);
        for (int i = 0; i < n; ++i) {
            auto& c = *static_cast<client*>(events[i].data.ptr);
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) mosquitto_loop_read(c.mosq, 1);
            // Write what the callbacks queued while the socket is surely
            // writable, rather than wait for another round for EPOLLOUT.
            if ((events[i].events & EPOLLOUT) || mosquitto_want_write(c.mosq)) mosquitto_loop_write(c.mosq, 1);
            update_interest(c);
        }
        const auto now = clock::now();
        if (now >= next_misc_) {
            next_misc_ = now + std::chrono::seconds(1);
            for (auto& c : clients_) misc(*c);
            if (subscriber_) misc(*subscriber_);
        }
    }

    void misc(client& c)
    {
        if (mosquitto_socket(c.mosq) < 0) return;
        mosquitto_loop_misc(c.mosq);  // PINGREQ when due; drops a silent broker
        update_interest(c);
    }

    void publish_next(client& c)
    {
        if (c.sent >= per_client_) return;
        ++c.sent;
        const int rc = mosquitto_publish(c.mosq, nullptr, c.topic.c_str(), static_cast<int>(payload_.size()),
                                         payload_.data(), opts_.qos, false);
        if (rc != MOSQ_ERR_SUCCESS) ++failed_;
    }

    static client& self(void* userdata) { return *static_cast<client*>(userdata); }

    static void on_connect(mosquitto*, void* userdata, int rc)
    {
        auto& c = self(userdata);
        c.connected = rc == 0;
        if (c.connect_done) return;
        c.connect_done = true;
        if (c.fleet->connect_done_) c.fleet->connect_done_(c);
    }

    static void on_disconnect(mosquitto*, void* userdata, int)
    {
        auto& c = self(userdata);
        c.connected = false;
        if (c.connect_done) return;  // a lost connection later: no reconnect here, the run shows it
        c.connect_done = true;
        if (c.fleet->connect_done_) c.fleet->connect_done_(c);
    }

    // QoS 0: written; QoS 1: PUBACK came. Either frees a place in the window.
    static void on_publish(mosquitto*, void* userdata, int)
    {
        auto& c = self(userdata);
        c.fleet->publish_next(c);
    }

    static void on_subscribe(mosquitto*, void* userdata, int, int count, const int* granted)
    {
        auto& c = self(userdata);
        c.subscribed = count > 0 && granted[0] == c.fleet->opts_.qos;
        c.subscribe_failed = !c.subscribed;
    }

    static void on_message(mosquitto*, void* userdata, const mosquitto_message*)
    {
        auto& c = self(userdata);
        if (c.arrivals) c.arrivals->add();
    }

    const int epoll_fd_;
    std::vector<std::unique_ptr<client>> clients_;
    std::unique_ptr<client> subscriber_;
    std::function<void(client&)> connect_done_;  // set while connect() runs
    clock::time_point next_misc_{};
    std::string payload_;
    std::size_t per_client_ = 0;
    std::size_t failed_ = 0;
    std::size_t connect_errors_ = 0;
};

}  // namespace

int main(int argc, char** argv)
{
    mosquitto_lib_init();
    // Three descriptors per client: its socket, and the socket pair that
    // mosquitto_new always opens to wake a threaded loop (lib/mosquitto.c).
    const int status = scale::scale_main(
        argc, argv, "mosquitto", [](const scale::options& opts) { return std::make_unique<mosquitto_fleet>(opts); },
        3);
    mosquitto_lib_cleanup();
    return status;
}
