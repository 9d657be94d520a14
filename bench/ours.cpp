// The workloads over mqtt::client (this library).

#include "common/backpressure.hpp"
#include "common/workloads.hpp"

#include <mqtt/client.hpp>

#include <chrono>
#include <memory>

namespace {

class ours_connection final : public bench::connection {
public:
    ~ours_connection() override
    {
        if (client_) client_->loop_stop();  // the client's destructor closes the socket
    }

    void open(const bench::options& opts, const std::string& client_id, message_handler on_message) override
    {
        publish_limit_ = opts.timeout;
        client_ = std::make_unique<mqtt::client>(client_id);
        client_->max_inflight_messages_set(100);
        // Unbounded queue, like libmosquitto's: the publisher never gets
        // queue_full; only the packet-id space (65535 queued) can push back.
        client_->max_queued_messages_set(0);
        client_->max_queued_bytes_set(0);
        client_->reconnect_on_failure_set(false);  // a lost connection fails the run instead of hiding
        if (on_message)
            client_->on_message = [handler = std::move(on_message)](mqtt::client&, const mqtt::message& m) {
                handler(m.payload);
            };
        client_->on_subscribe = [this](mqtt::client&, int, const std::vector<int>& granted) {
            subscribed_.set(!granted.empty() && granted.front() != 0x80);
        };
        std::error_code ec;
        client_->connect(opts.host, opts.port, 60, ec);  // sets TCP_NODELAY itself
        if (ec) throw bench::bench_error("connect: " + ec.message());
        if (auto rc = client_->loop_start()) throw bench::bench_error("loop_start: " + rc.message());
    }

    void subscribe(const std::string& topic, int qos) override
    {
        if (auto rc = client_->subscribe(topic, qos).first) throw bench::bench_error("subscribe: " + rc.message());
        if (!subscribed_.wait_for(std::chrono::seconds(5))) throw bench::bench_error("no SUBACK within 5 s");
    }

    void publish(const std::string& topic, std::string_view payload, int qos) override
    {
        bench::publish_with_backpressure(
            [&] {
                const auto rc = client_->publish(topic, payload, qos).rc();
                if (!rc) return true;
                if (rc == mqtt::errc::queue_full) return false;
                throw bench::bench_error("publish: " + rc.message());
            },
            publish_limit_, "ours");
    }

    void close() override
    {
        client_->disconnect();
        client_->loop_stop();
    }

private:
    std::unique_ptr<mqtt::client> client_;
    bench::one_shot subscribed_;
    std::chrono::milliseconds publish_limit_{60000};
};

}  // namespace

int main(int argc, char** argv)
{
    return bench::bench_main(argc, argv, "ours", [] { return std::make_unique<ours_connection>(); });
}
