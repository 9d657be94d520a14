#include "raw/throughput.hpp"

#include "common/connection.hpp"
#include "common/measure.hpp"
#include "common/workloads.hpp"
#include "raw/session.hpp"

#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

namespace bench {

namespace {

constexpr std::size_t window = 100;  // QoS 1/2 messages in flight, as every client is configured

// Runs `body` on a thread; the first exception is kept for the main thread.
class worker {
public:
    template <class Body>
    explicit worker(Body body)
        : thread_([this, body]() mutable {
              try {
                  body();
              } catch (const std::exception& e) {
                  error_ = e.what();
              }
          })
    {
    }
    ~worker()
    {
        if (thread_.joinable()) thread_.join();
    }
    void join_and_rethrow()
    {
        thread_.join();
        if (!error_.empty()) throw bench_error(error_);
    }

private:
    std::string error_;
    std::thread thread_;
};

// The subscriber: counts PUBLISH frames; acks QoS 1 (PUBACK) and QoS 2
// (PUBREC, then PUBCOMP for each PUBREL), one write per read.
void read_subscription(raw_session& sub, arrival_counter& arrivals, const std::atomic<bool>& stop)
{
    std::vector<std::uint8_t> buffer(256 * 1024);
    wire::bytes acks;
    while (!stop.load(std::memory_order_relaxed)) {
        const std::size_t n = sub.socket().receive_some(buffer.data(), buffer.size());
        std::size_t publishes = 0;
        sub.scanner().feed(buffer.data(), n, [&](const wire::frame& f) {
            if (f.type() == wire::publish) {
                ++publishes;
                if (f.qos() == 1) wire::append_ack(acks, wire::puback, wire::packet_id_of(f));
                if (f.qos() == 2) wire::append_ack(acks, wire::pubrec, wire::packet_id_of(f));
            } else if (f.type() == wire::pubrel) {
                wire::append_ack(acks, wire::pubcomp, wire::packet_id_of(f));
            }
        });
        if (!acks.empty()) {
            sub.socket().send_all(acks.data(), acks.size());
            acks.clear();
        }
        if (publishes > 0) arrivals.add(publishes);
    }
}

void publish_qos0(raw_session& pub, const options& opts, const std::string& topic)
{
    // One packet, repeated to ~64 KiB, written again and again.
    wire::bytes packet = wire::encode_publish_header(topic, opts.payload, 0);
    packet.resize(packet.size() + opts.payload, 'x');
    const std::size_t per_batch = std::max<std::size_t>(1, (64 * 1024) / packet.size());
    wire::bytes batch;
    for (std::size_t i = 0; i < per_batch; ++i) batch.insert(batch.end(), packet.begin(), packet.end());
    for (std::size_t sent = 0; sent < opts.count;) {
        const std::size_t n = std::min(per_batch, opts.count - sent);
        pub.socket().send_all(batch.data(), n * packet.size());
        sent += n;
    }
}

// QoS 1/2, one thread: writes a window of PUBLISH packets, then for every
// read of acks writes the PUBRELs they call for and as many new PUBLISH
// packets as were completed, all in one gather write. No thread hand-off.
// Returns once every message is acknowledged (PUBACK / PUBCOMP).
void publish_windowed(raw_session& pub, const options& opts, const std::string& topic, clock::time_point deadline)
{
    const std::string payload(opts.payload, 'x');
    // One header per window slot, its packet id patched before it is written.
    std::vector<wire::bytes> headers(window, wire::encode_publish_header(topic, opts.payload, opts.qos));
    std::size_t next_slot = 0;
    std::uint16_t next_id = 0;
    std::vector<iovec> parts;
    const auto add_publishes = [&](std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            auto& header = headers[next_slot];
            next_slot = (next_slot + 1) % window;
            next_id = next_id == 65535 ? 1 : next_id + 1;
            wire::patch_packet_id(header, next_id);
            parts.push_back({header.data(), header.size()});
            parts.push_back({const_cast<char*>(payload.data()), payload.size()});
        }
    };

    std::size_t sent = std::min(window, opts.count);
    std::size_t completed = 0;
    add_publishes(sent);
    pub.socket().send_all(parts.data(), parts.size());
    std::vector<std::uint8_t> buffer(64 * 1024);
    wire::bytes releases;
    while (completed < opts.count) {
        if (clock::now() >= deadline) throw bench_error("the publisher's messages were not all acknowledged in time");
        const std::size_t n = pub.socket().receive_some(buffer.data(), buffer.size());
        std::size_t freed = 0;
        pub.scanner().feed(buffer.data(), n, [&](const wire::frame& f) {
            if (f.type() == wire::puback || f.type() == wire::pubcomp) ++freed;
            if (f.type() == wire::pubrec) wire::append_ack(releases, wire::pubrel, wire::packet_id_of(f));
        });
        completed += freed;
        const std::size_t more = std::min(freed, opts.count - sent);
        parts.clear();
        if (!releases.empty()) parts.push_back({releases.data(), releases.size()});
        add_publishes(more);
        sent += more;
        if (!parts.empty()) pub.socket().send_all(parts.data(), parts.size());
        releases.clear();
    }
}

}  // namespace

result run_raw_throughput(const options& opts)
{
    const auto deadline = clock::now() + opts.timeout;
    const std::string data_topic = topic(opts, "raw", "data");
    raw_session sub(opts, client_id(opts, "raw", "sub"));
    sub.subscribe(data_topic, opts.qos);
    raw_session pub(opts, client_id(opts, "raw", "pub"));

    arrival_counter arrivals(opts.count);
    std::atomic<bool> stop{false};
    result r;
    const double cpu_before = process_cpu_seconds();
    const auto started = clock::now();
    {
        worker reader([&] { read_subscription(sub, arrivals, stop); });
        std::string publish_error;
        try {
            if (opts.qos == 0)
                publish_qos0(pub, opts, data_topic);
            else
                publish_windowed(pub, opts, data_topic, deadline);
        } catch (const std::exception& e) {
            publish_error = e.what();
        }
        r.publish_seconds = seconds_between(started, clock::now());
        if (publish_error.empty() && !arrivals.wait(opts.idle_timeout, deadline))
            std::cerr << "raw: " << arrivals.received() << " of " << opts.count << " messages arrived\n";
        r.cpu_seconds = process_cpu_seconds() - cpu_before;
        stop = true;
        reader.join_and_rethrow();
        if (!publish_error.empty()) throw bench_error(publish_error);
    }
    r.received = arrivals.received();
    r.seconds = r.received > 0 ? seconds_between(started, arrivals.last_arrival()) : 0.0;
    pub.send_disconnect();
    sub.send_disconnect();
    return r;
}

}  // namespace bench
