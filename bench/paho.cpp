// The workloads over Eclipse Paho C++ (mqtt::async_client, on Paho C's
// MQTTAsync). Its own threads do the network I/O and run the callbacks, as
// with mqtt::client's loop_start and libmosquitto's loop_start.

#include "common/backpressure.hpp"
#include "common/workloads.hpp"

#include <mqtt/async_client.h>  // Paho's mqtt/, not this repository's

#include <MQTTAsync.h>

#include <chrono>
#include <deque>
#include <memory>

namespace {

class paho_connection final : public bench::connection {
public:
    ~paho_connection() override
    {
        if (client_ && client_->is_connected()) {
            try {
                client_->disconnect(std::chrono::seconds(1))->wait_for(std::chrono::seconds(2));
            } catch (const std::exception&) {
                // going away anyway
            }
        }
    }

    void open(const bench::options& opts, const std::string& client_id, message_handler on_message) override
    {
        publish_limit_ = opts.timeout;
        // Paho applies max_buffered_messages (default 100) while connected
        // too; the other clients queue without bound, so lift it.
        auto create = mqtt::create_options_builder()
                          .mqtt_version(MQTTVERSION_3_1_1)
                          .max_buffered_messages(1 << 24)
                          .finalize();
        client_ = std::make_unique<mqtt::async_client>("tcp://" + opts.host + ":" + std::to_string(opts.port),
                                                       client_id, create, nullptr);
        if (on_message)
            client_->set_message_callback([handler = std::move(on_message)](mqtt::const_message_ptr m) {
                handler(m->get_payload());
            });
        // Paho offers no TCP_NODELAY option and does not set it (strace shows
        // no setsockopt): Nagle's algorithm stays on for this client.
        auto connect = mqtt::connect_options_builder()
                           .mqtt_version(MQTTVERSION_3_1_1)
                           .clean_session(true)
                           .keep_alive_interval(std::chrono::seconds(60))
                           .max_inflight(static_cast<int>(inflight_window))
                           .automatic_reconnect(false)
                           .finalize();
        if (!client_->connect(connect)->wait_for(std::chrono::seconds(5)))
            throw bench::bench_error("no CONNACK within 5 s");
    }

    void subscribe(const std::string& topic, int qos) override
    {
        if (!client_->subscribe(topic, qos)->wait_for(std::chrono::seconds(5)))
            throw bench::bench_error("no SUBACK within 5 s");
    }

    void publish(const std::string& topic, std::string_view payload, int qos) override
    {
        // Paho C drains QoS 1/2 messages queued beyond maxInflight only now
        // and then (measured here: ~350 msgs/s at QoS 1, 64 B, the CPU idle),
        // so QoS 1/2 publishes wait for the oldest of the last 100 delivery
        // tokens: the application-side form of the same window of 100.
        while (!unacknowledged_.empty() && unacknowledged_.front()->try_wait()) unacknowledged_.pop_front();
        if (qos > 0 && unacknowledged_.size() >= inflight_window) {
            if (!unacknowledged_.front()->wait_for(publish_limit_))
                throw bench::bench_error("publish: no ack before the timeout");
            unacknowledged_.pop_front();
        }
        bench::publish_with_backpressure(
            [&] {
                try {
                    auto token = client_->publish(topic, payload.data(), payload.size(), qos, false);
                    if (qos > 0) unacknowledged_.push_back(std::move(token));
                    return true;
                } catch (const mqtt::exception& e) {
                    const int rc = e.get_return_code();
                    if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES || rc == MQTTASYNC_NO_MORE_MSGIDS) return false;
                    throw;
                }
            },
            publish_limit_, "paho");
    }

    void close() override
    {
        unacknowledged_.clear();
        client_->disconnect(std::chrono::seconds(5))->wait_for(std::chrono::seconds(6));
    }

private:
    static constexpr std::size_t inflight_window = 100;
    std::unique_ptr<mqtt::async_client> client_;
    std::deque<mqtt::delivery_token_ptr> unacknowledged_;  // QoS 1/2, oldest first
    std::chrono::milliseconds publish_limit_{60000};
};

}  // namespace

int main(int argc, char** argv)
{
    return bench::bench_main(argc, argv, "paho", [] { return std::make_unique<paho_connection>(); });
}
