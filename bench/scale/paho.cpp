// The scale workloads over Eclipse Paho C++ (mqtt::async_client on Paho C's
// MQTTAsync). Paho cannot be driven from the application's thread: Paho C
// runs two background threads of its own (one sending, one receiving, shared
// by every client in the process), which do all the I/O and run the
// callbacks. So this program's main thread only starts clients and waits;
// the RESULT line's `threads` field and CPU figures include Paho's threads.

#include "scale/fleet.hpp"

#include <mqtt/async_client.h>  // Paho's mqtt/, not this repository's

#include <MQTTAsync.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using scale::clock;

class paho_fleet;

struct client {
    std::unique_ptr<mqtt::async_client> paho;
    std::size_t index = 0;
    std::atomic<std::size_t> sent{0};  // active: publishes started
    std::string topic;  // active
};

// Connect outcomes, from Paho's threads to the main thread.
class connect_listener final : public mqtt::iaction_listener {
public:
    void on_success(const mqtt::token&) override { finish(true); }
    void on_failure(const mqtt::token& tok) override
    {
        std::cerr << "paho: connect failed: rc " << tok.get_return_code() << "\n";
        finish(false);
    }

    std::mutex mutex;
    std::condition_variable changed;
    std::size_t pending = 0, connected = 0, failed = 0;

private:
    void finish(bool ok)
    {
        std::lock_guard<std::mutex> lock(mutex);
        --pending;
        ++(ok ? connected : failed);
        changed.notify_all();
    }
};

// Publish completions (QoS 0: written; QoS 1: PUBACK): each frees a place in
// its client's window, filled at once from the callback.
class publish_listener final : public mqtt::iaction_listener {
public:
    explicit publish_listener(paho_fleet& fleet) : fleet_(fleet) {}
    void on_success(const mqtt::token& tok) override;
    void on_failure(const mqtt::token& tok) override;

private:
    paho_fleet& fleet_;
};

class paho_fleet final : public scale::fleet {
public:
    explicit paho_fleet(const scale::options& opts) : fleet(opts), published_(*this) {}

    ~paho_fleet() override
    {
        // Paho's destructor stops nothing shared; MQTTAsync_destroy frees the client.
        subscriber_.reset();
        clients_.clear();
    }

    std::size_t connect(std::size_t count, clock::time_point deadline) override
    {
        const std::size_t target = clients_.size() + count;
        connect_listener listener;
        std::unique_lock<std::mutex> lock(listener.mutex);
        while (listener.connected + listener.failed < count && clock::now() < deadline) {
            while (listener.pending < opts_.connect_window && clients_.size() < target) {
                ++listener.pending;
                lock.unlock();
                clients_.push_back(make_client(clients_.size()));
                start_connect(*clients_.back(), listener);
                lock.lock();
            }
            listener.changed.wait_until(lock, deadline);
        }
        // Paho keeps the listener's address until the connect completes.
        while (listener.pending > 0) {
            if (listener.changed.wait_until(lock, deadline + std::chrono::seconds(35)) == std::cv_status::timeout) {
                std::cerr << "paho: connects still pending; leaving their clients be\n";
                std::abort();  // the listener must not go out of scope under Paho's feet
            }
        }
        return listener.connected;
    }

    void idle(clock::duration period) override { std::this_thread::sleep_for(period); }

    void subscribe(const std::string& filter, bench::arrival_counter& arrivals, clock::time_point deadline) override
    {
        subscriber_ = make_client(clients_.size() + 1000000);
        subscriber_->paho->set_message_callback([&arrivals](mqtt::const_message_ptr) { arrivals.add(); });
        connect_listener listener;
        listener.pending = 1;
        start_connect(*subscriber_, listener);
        {
            std::unique_lock<std::mutex> lock(listener.mutex);
            listener.changed.wait_until(lock, deadline + std::chrono::seconds(35), [&] { return listener.pending == 0; });
            if (listener.pending) std::abort();  // see connect()
            if (!listener.connected) throw std::runtime_error("subscriber: no CONNACK");
        }
        auto tok = subscriber_->paho->subscribe(filter, opts_.qos);
        if (!tok->wait_until(deadline)) throw std::runtime_error("subscriber: no SUBACK");
        const auto granted = tok->get_subscribe_response().get_reason_codes();
        if (granted.empty() || static_cast<int>(granted[0]) != opts_.qos)
            throw std::runtime_error("subscriber: QoS not granted");
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
        while (!publishing_over(arrivals, clients_.size() * per_client, started, deadline))
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        // Stop refilling windows before the listener and the strings go.
        per_client_ = 0;
        return failed_.load();
    }

    void close(clock::time_point deadline) override
    {
        std::vector<mqtt::token_ptr> tokens;
        auto goodbye = [&](client& c) {
            if (!c.paho->is_connected()) return;
            try {
                tokens.push_back(c.paho->disconnect(std::chrono::seconds(1)));
            } catch (const mqtt::exception&) {
                // lost meanwhile: nothing to say goodbye to
            }
        };
        for (auto& c : clients_) goodbye(*c);
        if (subscriber_) goodbye(*subscriber_);
        for (auto& tok : tokens) {
            try {
                if (!tok->wait_until(deadline)) break;
            } catch (const mqtt::exception&) {
                // a failed disconnect still ends the client
            }
        }
    }

    void publish_next(client& c)
    {
        if (c.sent.fetch_add(1, std::memory_order_relaxed) >= per_client_) return;
        try {
            c.paho->publish(c.topic, payload_.data(), payload_.size(), opts_.qos, false, &c,
                            published_);
        } catch (const mqtt::exception& e) {
            if (failed_.fetch_add(1) == 0) std::cerr << "paho: publish: " << e.what() << "\n";
        }
    }

    void publish_failed() { failed_.fetch_add(1); }

private:
    std::unique_ptr<client> make_client(std::size_t index)
    {
        auto c = std::make_unique<client>();
        c->index = index;
        auto create = mqtt::create_options_builder().mqtt_version(MQTTVERSION_3_1_1).finalize();
        c->paho = std::make_unique<mqtt::async_client>("tcp://" + opts_.host + ":" + std::to_string(opts_.port),
                                                       client_id(index), create, nullptr);  // no persistence
        return c;
    }

    void start_connect(client& c, connect_listener& listener)
    {
        // Paho has no TCP_NODELAY option and leaves Nagle's algorithm on.
        auto connect = mqtt::connect_options_builder()
                           .mqtt_version(MQTTVERSION_3_1_1)
                           .clean_session(true)
                           .keep_alive_interval(std::chrono::seconds(opts_.keepalive))
                           .automatic_reconnect(false)
                           .finalize();
        try {
            c.paho->connect(connect, nullptr, listener);
        } catch (const mqtt::exception& e) {
            std::cerr << "paho: connect: " << e.what() << "\n";
            std::lock_guard<std::mutex> lock(listener.mutex);
            --listener.pending;
            ++listener.failed;
        }
    }

    std::vector<std::unique_ptr<client>> clients_;
    std::unique_ptr<client> subscriber_;
    publish_listener published_;
    std::string payload_;
    std::atomic<std::size_t> per_client_{0};
    std::atomic<std::size_t> failed_{0};
};

void publish_listener::on_success(const mqtt::token& tok)
{
    fleet_.publish_next(*static_cast<client*>(tok.get_user_context()));
}

void publish_listener::on_failure(const mqtt::token& tok)
{
    fleet_.publish_failed();
    fleet_.publish_next(*static_cast<client*>(tok.get_user_context()));
}

}  // namespace

int main(int argc, char** argv)
{
    return scale::scale_main(argc, argv, "paho",
                             [](const scale::options& opts) { return std::make_unique<paho_fleet>(opts); });
}
