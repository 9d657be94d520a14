// The scale workloads over mqtt::async_client (this library): every client
// on one io_context, run by this program's one thread. No thread is started
// (numeric host: no resolver thread either).

#include "scale/fleet.hpp"

#include <mqtt/async_client.hpp>

#include <asio/io_context.hpp>

#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using scale::clock;

class ours_fleet final : public scale::fleet {
public:
    explicit ours_fleet(const scale::options& opts) : fleet(opts) {}

    std::size_t connect(std::size_t count, clock::time_point deadline) override
    {
        const std::size_t first = clients_.size();
        connect_target_ = first + count;
        connect_ok_ = connect_failed_ = 0;
        clients_.reserve(connect_target_);
        launch_connects();
        run_until([&] { return connect_ok_ + connect_failed_ == count; }, deadline);
        return connect_ok_;
    }

    // One run_for: the io_context sleeps until a client's timer or socket
    // needs it, and no polling of ours adds to the idle CPU.
    void idle(clock::duration period) override
    {
        if (io_.stopped()) io_.restart();
        io_.run_for(period);
    }

    void subscribe(const std::string& filter, bench::arrival_counter& arrivals, clock::time_point deadline) override
    {
        subscriber_ = make_client(1000000);
        subscriber_->on_message = [&arrivals](mqtt::async_client&, const mqtt::message&) { arrivals.add(); };
        // Shared with the handlers: they may outlive this call if it times out.
        auto step = std::make_shared<outcome>();
        subscriber_->async_connect(opts_.host, opts_.port, opts_.keepalive, [step](std::error_code ec, bool) {
            step->ec = ec;
            step->done = true;
        });
        run_until([&] { return step->done; }, deadline);
        if (!step->done || step->ec)
            throw std::runtime_error("subscriber: connect: " + (step->done ? step->ec.message() : "timed out"));
        step = std::make_shared<outcome>();
        subscriber_->async_subscribe(filter, opts_.qos, [step](std::error_code ec, std::vector<int> granted) {
            step->ec = ec;
            step->granted = granted.empty() ? -1 : granted.front();
            step->done = true;
        });
        run_until([&] { return step->done; }, deadline);
        if (!step->done || step->ec || step->granted != opts_.qos)
            throw std::runtime_error("subscriber: no SUBACK granting QoS " + std::to_string(opts_.qos));
    }

    std::size_t publish(const std::string& topic_prefix, std::size_t per_client,
                        const bench::arrival_counter& arrivals, clock::time_point deadline) override
    {
        per_client_ = per_client;
        payload_.assign(opts_.payload, 'x');
        topics_.clear();
        for (std::size_t i = 0; i < clients_.size(); ++i) topics_.push_back(topic_prefix + std::to_string(i));
        sent_.assign(clients_.size(), 0);
        const auto started = clock::now();
        for (std::size_t i = 0; i < clients_.size(); ++i)
            for (std::size_t k = 0; k < opts_.window; ++k) publish_next(i);
        run_until([&] { return publishing_over(arrivals, clients_.size() * per_client, started, deadline); },
                  deadline);
        per_client_ = 0;  // completions still to come start nothing more
        return publish_failed_;
    }

    void close(clock::time_point deadline) override
    {
        auto open = std::make_shared<std::size_t>(0);
        auto goodbye = [&](mqtt::async_client& c) {
            if (!c.is_connected()) return;
            ++*open;
            c.async_disconnect([open](std::error_code) { --*open; });
        };
        for (auto& c : clients_) goodbye(*c);
        if (subscriber_) goodbye(*subscriber_);
        run_until([&] { return *open == 0; }, deadline);
    }

private:
    struct outcome {
        bool done = false;
        std::error_code ec;
        int granted = -1;
    };

    // Runs the io_context on this thread until done() or the deadline.
    template <class Done>
    void run_until(Done done, clock::time_point deadline)
    {
        while (!done()) {
            const auto now = clock::now();
            if (now >= deadline) return;
            if (io_.stopped()) io_.restart();
            io_.run_for(std::min<clock::duration>(deadline - now, std::chrono::milliseconds(20)));
            if (io_.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // out of work
        }
    }

    std::unique_ptr<mqtt::async_client> make_client(std::size_t index)
    {
        auto c = std::make_unique<mqtt::async_client>(io_, client_id(index), true);  // clean session
        c->reconnect_on_failure_set(false);  // a lost connection fails the run instead of hiding
        return c;
    }

    // Keeps opts_.connect_window connects under way; each completion starts the next.
    void launch_connects()
    {
        while (connect_pending_ < opts_.connect_window && clients_.size() < connect_target_) {
            auto& c = *clients_.emplace_back(make_client(clients_.size()));
            ++connect_pending_;
            c.async_connect(opts_.host, opts_.port, opts_.keepalive, [this](std::error_code ec, bool) {
                --connect_pending_;
                if (!ec)
                    ++connect_ok_;
                else if (connect_failed_++ == 0)
                    std::cerr << "ours: connect: " << ec.message() << "\n";
                launch_connects();
            });
        }
    }

    // QoS 0 completes once written, QoS 1 at PUBACK: either frees a place in the window.
    void publish_next(std::size_t i)
    {
        if (sent_[i] >= per_client_) return;
        ++sent_[i];
        clients_[i]->async_publish(topics_[i], payload_, opts_.qos, false, [this, i](std::error_code ec, int) {
            if (ec && publish_failed_++ == 0) std::cerr << "ours: publish: " << ec.message() << "\n";
            publish_next(i);
        });
    }

    asio::io_context io_{1};  // concurrency hint: one thread runs it
    std::vector<std::unique_ptr<mqtt::async_client>> clients_;  // destroyed before io_
    std::unique_ptr<mqtt::async_client> subscriber_;
    std::size_t connect_target_ = 0, connect_pending_ = 0, connect_ok_ = 0, connect_failed_ = 0;
    std::size_t per_client_ = 0, publish_failed_ = 0;
    std::vector<std::size_t> sent_;
    std::vector<std::string> topics_;
    std::string payload_;
};

}  // namespace

int main(int argc, char** argv)
{
    return scale::scale_main(argc, argv, "ours",
                             [](const scale::options& opts) { return std::make_unique<ours_fleet>(opts); });
}
