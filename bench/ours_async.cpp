// The workloads over mqtt::async_client (this library's asynchronous face).
//
// Each connection owns one io_context and one thread running it (a work
// guard keeps it running while idle): the same thread layout as bench_ours
// (mqtt::client's loop_start) and bench_mosquitto (mosquitto_loop_start), so
// the row differs from ours by the face alone: a completion handler per
// publish instead of a message_info, nothing else. The workload thread
// initiates the publishes (async_client members are safe from any thread);
// it cannot run the io_context itself, since the workloads block it waiting
// for arrivals and pongs. One io_context shared by both connections would
// measure a different design (publisher and subscriber on one thread, one
// core between them); bench_scale measures that one, with 1 000 clients.
//
// Plain callback tokens: the cheapest; futures or coroutines would add their
// own cost to every message. Messages arrive through on_message, as in
// bench_ours (async_receive would add an operation per message).

#include "common/workloads.hpp"

#include <mqtt/async_client.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

class ours_async_connection final : public bench::connection {
public:
    ~ours_async_connection() override { stop(); }

    void open(const bench::options& opts, const std::string& client_id, message_handler on_message) override
    {
        client_ = std::make_unique<mqtt::async_client>(io_, client_id);
        client_->max_inflight_messages_set(100);
        // Unbounded queue, as in bench_ours and libmosquitto: a publish is
        // never refused (packet ids are taken only when a message enters the
        // window of 100), so publish() has no back-pressure to wait out.
        client_->max_queued_messages_set(0);
        client_->max_queued_bytes_set(0);
        client_->reconnect_on_failure_set(false);  // a lost connection fails the run instead of hiding
        if (on_message)
            client_->on_message = [handler = std::move(on_message)](mqtt::async_client&, const mqtt::message& m) {
                handler(m.payload);
            };
        thread_ = std::thread([this] {
            io_.run();
            ended_.set_value();
        });
        const auto ec = wait_for_completion(
            [&](auto handler) {
                client_->async_connect(opts.host, opts.port, 60,  // sets TCP_NODELAY itself
                                       [handler](std::error_code ec, bool) { handler(ec); });
            },
            "no CONNACK within 5 s");
        if (ec) throw bench::bench_error("connect: " + ec.message());
    }

    void subscribe(const std::string& topic, int qos) override
    {
        // Completes with errc::subscription_refused on a 0x80 in the SUBACK.
        const auto ec = wait_for_completion(
            [&](auto handler) {
                client_->async_subscribe(topic, qos, [handler](std::error_code ec, std::vector<int>) { handler(ec); });
            },
            "no SUBACK within 5 s");
        if (ec) throw bench::bench_error("subscribe: " + ec.message());
    }

    // Completes at the QoS's acknowledgement point (QoS 0: written). The
    // workload does not wait for it; a failed completion fails the run at
    // the next publish (or at close).
    void publish(const std::string& topic, std::string_view payload, int qos) override
    {
        throw_if_failed();
        client_->async_publish(topic, payload, qos, false, [this](std::error_code ec, int) {
            if (ec && !closing_.load(std::memory_order_relaxed)) record_failure(ec);
        });
    }

    void close() override
    {
        closing_ = true;
        auto done = std::make_shared<std::promise<void>>();
        client_->async_disconnect([done](std::error_code) { done->set_value(); });
        // Bounded by the client's disconnect timeout (5 s), plus a margin.
        done->get_future().wait_for(std::chrono::seconds(7));
        stop();
        throw_if_failed();
    }

private:
    // Starts an operation with a handler taking its error_code, and waits up
    // to 5 s for it. The promise is shared: the handler may come after a timeout.
    template <class Start>
    std::error_code wait_for_completion(Start start, const char* timeout_text)
    {
        auto outcome = std::make_shared<std::promise<std::error_code>>();
        auto result = outcome->get_future();
        start([outcome](std::error_code ec) { outcome->set_value(ec); });
        if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
            throw bench::bench_error(timeout_text);
        return result.get();
    }

    void record_failure(std::error_code ec)
    {
        std::lock_guard<std::mutex> lock(failure_mutex_);
        if (!failure_) failure_ = ec;
        failed_.store(true, std::memory_order_release);
    }

    void throw_if_failed()
    {
        if (!failed_.load(std::memory_order_acquire)) return;
        std::lock_guard<std::mutex> lock(failure_mutex_);
        throw bench::bench_error("publish: " + failure_->message());
    }

    // Destroys the client on its executor (never while one of its callbacks
    // runs), then lets the io_context run out of work: the client's closing
    // handlers finish and the thread ends. Bounded: a run that does not end
    // within 2 s is stopped.
    void stop()
    {
        if (!thread_.joinable()) return;
        closing_ = true;
        std::promise<void> destroyed;
        auto destroyed_future = destroyed.get_future();
        asio::post(io_, [this, &destroyed] {
            client_.reset();
            destroyed.set_value();
        });
        destroyed_future.wait();
        guard_.reset();
        if (ended_.get_future().wait_for(std::chrono::seconds(2)) != std::future_status::ready) io_.stop();
        thread_.join();
    }

    asio::io_context io_{1};  // concurrency hint: one thread runs it
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{io_.get_executor()};
    std::unique_ptr<mqtt::async_client> client_;  // destroyed on io_'s thread, before io_
    std::thread thread_;
    std::promise<void> ended_;  // set when io_.run() returned
    std::atomic<bool> closing_{false};  // operation_aborted from here on is the teardown's, not a failure
    std::atomic<bool> failed_{false};
    std::mutex failure_mutex_;
    std::optional<std::error_code> failure_;
};

}  // namespace

int main(int argc, char** argv)
{
    return bench::bench_main(argc, argv, "ours_async", [] { return std::make_unique<ours_async_connection>(); });
}
