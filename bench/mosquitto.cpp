// The workloads over libmosquitto.
//
// Threaded mode (mosquitto_loop_start): the library's own thread does the
// network I/O and runs the callbacks while the application thread publishes,
// which is how mqtt::client (loop_start) and Paho's async_client work too.
// loop_forever on the publishing thread would instead let the publisher write
// to the socket itself and measure a different design.

#include "common/workloads.hpp"

#include "common/measure.hpp"

#include <mosquitto.h>

#include <chrono>
#include <memory>
#include <string>

namespace {

std::string mosquitto_error(const char* call, int rc)
{
    return std::string(call) + ": " + mosquitto_strerror(rc);
}

class mosquitto_connection final : public bench::connection {
public:
    ~mosquitto_connection() override
    {
        if (!mosq_) return;
        if (loop_running_) mosquitto_loop_stop(mosq_, true);
        mosquitto_destroy(mosq_);
    }

    void open(const bench::options& opts, const std::string& client_id, message_handler on_message) override
    {
        on_message_ = std::move(on_message);
        mosq_ = mosquitto_new(client_id.c_str(), true, this);
        if (!mosq_) throw bench::bench_error("mosquitto_new failed");
        mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
        // MOSQ_OPT_SEND_MAXIMUM is the MQTT 5 form; this is the 3.1.1 window.
        mosquitto_max_inflight_messages_set(mosq_, 100);
        mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
            static_cast<mosquitto_connection*>(self)->connected_.set(rc == 0);
        });
        mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int count, const int* granted) {
            static_cast<mosquitto_connection*>(self)->subscribed_.set(count > 0 && granted[0] != 0x80);
        });
        mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
            auto& handler = static_cast<mosquitto_connection*>(self)->on_message_;
            const auto size = static_cast<std::size_t>(m->payloadlen);
            if (handler) handler(std::string_view(static_cast<const char*>(m->payload), size));
        });
        if (int rc = mosquitto_connect(mosq_, opts.host.c_str(), opts.port, 60))
            throw bench::bench_error(mosquitto_error("connect", rc));
        if (int rc = mosquitto_loop_start(mosq_)) throw bench::bench_error(mosquitto_error("loop_start", rc));
        loop_running_ = true;
        if (!connected_.wait_for(std::chrono::seconds(5)))
            throw bench::bench_error("no successful CONNACK within 5 s");
    }

    void subscribe(const std::string& topic, int qos) override
    {
        if (int rc = mosquitto_subscribe(mosq_, nullptr, topic.c_str(), qos))
            throw bench::bench_error(mosquitto_error("subscribe", rc));
        if (!subscribed_.wait_for(std::chrono::seconds(5))) throw bench::bench_error("no SUBACK within 5 s");
    }

    // libmosquitto's queue is unbounded: no back-pressure to handle.
    void publish(const std::string& topic, std::string_view payload, int qos) override
    {
        const int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                         payload.data(), qos, false);
        if (rc != MOSQ_ERR_SUCCESS) throw bench::bench_error(mosquitto_error("publish", rc));
    }

    void close() override
    {
        mosquitto_disconnect(mosq_);
        mosquitto_loop_stop(mosq_, false);  // the loop ends once DISCONNECT is written
        loop_running_ = false;
    }

private:
    mosquitto* mosq_ = nullptr;
    bool loop_running_ = false;
    message_handler on_message_;
    bench::one_shot connected_;
    bench::one_shot subscribed_;
};

}  // namespace

int main(int argc, char** argv)
{
    mosquitto_lib_init();
    const int status =
        bench::bench_main(argc, argv, "mosquitto", [] { return std::make_unique<mosquitto_connection>(); });
    mosquitto_lib_cleanup();
    return status;
}
