// The two workloads, written once over scale::fleet so that every library
// is timed and measured by the same code.

#include "scale/fleet.hpp"
#include "scale/process.hpp"
#include "scale/result.hpp"

#include <algorithm>
#include <iostream>
#include <stdexcept>

namespace scale {

namespace {

struct scale_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

idle_result run_idle(const options& opts, fleet& f)
{
    idle_result r;
    r.rss_before_kib = rss_kib();
    const auto started = clock::now();
    r.connected = f.connect(opts.clients, started + opts.timeout);
    r.connect_seconds = bench::seconds_between(started, clock::now());
    if (r.connected < opts.clients)
        throw scale_error(std::to_string(r.connected) + " of " + std::to_string(opts.clients) +
                          " clients connected within " + std::to_string(opts.timeout.count()) + " ms");
    r.rss_connected_kib = rss_kib();

    const double cpu_before = bench::process_cpu_seconds();
    const auto idle_started = clock::now();
    f.idle(opts.idle_period);
    r.idle_cpu_seconds = bench::process_cpu_seconds() - cpu_before;
    r.idle_seconds = bench::seconds_between(idle_started, clock::now());
    r.rss_end_kib = rss_kib();
    r.threads = thread_count();
    return r;
}

active_result run_active(const options& opts, fleet& f)
{
    const std::string prefix = "bench/scale/" + opts.run_id + "/";
    const std::size_t per_client = (opts.count + opts.clients - 1) / opts.clients;
    active_result r;
    r.count = per_client * opts.clients;
    bench::arrival_counter arrivals(r.count);

    f.subscribe(prefix + "#", arrivals, clock::now() + opts.timeout);
    const std::size_t connected = f.connect(opts.clients, clock::now() + opts.timeout);
    if (connected < opts.clients)
        throw scale_error(std::to_string(connected) + " of " + std::to_string(opts.clients) +
                          " publishers connected within " + std::to_string(opts.timeout.count()) + " ms");

    const double cpu_before = bench::process_cpu_seconds();
    const auto started = clock::now();
    r.failed = f.publish(prefix, per_client, arrivals, started + std::min(opts.budget, opts.timeout));
    r.cpu_seconds = bench::process_cpu_seconds() - cpu_before;
    r.received = arrivals.received();
    if (r.received > 0) r.seconds = bench::seconds_between(started, arrivals.last_arrival());
    r.threads = thread_count();
    if (r.received == 0) throw scale_error("no message arrived at the subscriber");
    return r;
}

}  // namespace

int scale_main(int argc, char** argv, const char* client, const fleet_factory& make, std::size_t fds_per_client)
{
    options opts;
    try {
        opts = parse_options(argc, argv);
    } catch (const usage_error& e) {
        if (*e.what()) std::cerr << client << ": " << e.what() << "\n";
        std::cerr << usage_text();
        return 2;
    }
    const std::size_t needed = (opts.clients + 1) * fds_per_client + 64;  // + the subscriber, epoll, stdio
    const std::size_t limit = raise_fd_limit();
    if (limit < needed) {
        std::cerr << client << ": " << opts.clients << " clients need about " << needed << " open files ("
                  << fds_per_client << " per client); the hard limit is " << limit << " (ulimit -Hn)\n";
        return 1;
    }
    try {
        auto f = make(opts);
        if (opts.kind == workload::idle)
            print_result(client, opts, run_idle(opts, *f));
        else
            print_result(client, opts, run_active(opts, *f));
        f->close(clock::now() + std::min<clock::duration>(opts.timeout, std::chrono::seconds(30)));
        return 0;
    } catch (const std::exception& e) {
        std::cerr << client << ": " << workload_name(opts.kind) << " with " << opts.clients << " clients: " << e.what()
                  << "\n";
        return 1;
    }
}

}  // namespace scale
