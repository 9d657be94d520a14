// The raw reference client: plain sockets and hand-encoded packets. Its
// throughput run is the ceiling (raw/throughput.cpp); its latency run is the
// floor: a ping-pong with one blocking reader thread per connection.

#include "common/measure.hpp"
#include "common/workloads.hpp"
#include "raw/session.hpp"
#include "raw/throughput.hpp"

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace {

using bench::wire::frame;

class raw_connection final : public bench::connection {
public:
    ~raw_connection() override { stop_reader(); }

    void open(const bench::options& opts, const std::string& client_id, message_handler on_message) override
    {
        on_message_ = std::move(on_message);
        session_.emplace(opts, client_id);
    }

    void subscribe(const std::string& topic, int qos) override
    {
        session_->subscribe(topic, qos);
        // Reading starts after SUBACK, so the handshake has the socket to itself.
        reader_ = std::thread([this] { read_loop(); });
    }

    void publish(const std::string& topic, std::string_view payload, int qos) override
    {
        if (qos > 1) throw bench::bench_error("raw: latency supports QoS 0 and 1");
        std::lock_guard<std::mutex> lock(write_lock_);
        packet_ = bench::wire::encode_publish_header(topic, payload.size(), qos);
        if (qos > 0) bench::wire::patch_packet_id(packet_, next_id_ = next_id_ == 65535 ? 1 : next_id_ + 1);
        packet_.insert(packet_.end(), payload.begin(), payload.end());
        session_->socket().send_all(packet_.data(), packet_.size());
    }

    void close() override
    {
        stop_reader();
        std::lock_guard<std::mutex> lock(write_lock_);
        session_->send_disconnect();
    }

private:
    void stop_reader()
    {
        stop_ = true;
        if (reader_.joinable()) reader_.join();
    }

    // Delivers each PUBLISH whole: latency payloads are small enough for the
    // scanner's head buffer. QoS 1 messages get their PUBACK at once.
    void read_loop()
    {
        std::vector<std::uint8_t> buffer(64 * 1024);
        try {
            while (!stop_.load(std::memory_order_relaxed)) {
                const std::size_t n = session_->socket().receive_some(buffer.data(), buffer.size());
                session_->scanner().feed(buffer.data(), n, [&](const frame& f) {
                    if (f.type() == bench::wire::publish) deliver(f);
                });
            }
        } catch (const std::exception& e) {
            if (!stop_) std::cerr << "raw: reader: " << e.what() << "\n";  // the workload then times out
        }
    }

    void deliver(const frame& f)
    {
        if (f.body_size > f.head_size) throw bench::bench_error("raw: latency payloads must be under ~200 bytes");
        const std::size_t topic_size = static_cast<std::size_t>(f.head[0]) << 8 | f.head[1];
        const std::size_t payload_at = 2 + topic_size + (f.qos() > 0 ? 2 : 0);
        if (f.qos() == 1) {
            bench::wire::bytes ack;
            bench::wire::append_ack(ack, bench::wire::puback, bench::wire::packet_id_of(f));
            std::lock_guard<std::mutex> lock(write_lock_);
            session_->socket().send_all(ack.data(), ack.size());
        }
        if (on_message_)
            on_message_(std::string_view(reinterpret_cast<const char*>(f.head) + payload_at, f.head_size - payload_at));
    }

    std::optional<bench::raw_session> session_;
    message_handler on_message_;
    std::thread reader_;
    std::atomic<bool> stop_{false};
    std::mutex write_lock_;  // publishes (maybe from the reader's handler) and PUBACKs
    bench::wire::bytes packet_;
    std::uint16_t next_id_ = 0;
};

}  // namespace

int main(int argc, char** argv)
{
    return bench::bench_main(
        argc, argv, "raw", [] { return std::make_unique<raw_connection>(); }, &bench::run_raw_throughput);
}
