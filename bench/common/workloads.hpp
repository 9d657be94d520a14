#pragma once

// The workloads, written once against bench::connection so that every
// library runs exactly the same code around its calls.

#include "common/connection.hpp"
#include "common/options.hpp"
#include "common/result.hpp"

#include <functional>
#include <string>

namespace bench {

// One publishing and one subscribing connection: `count` messages, timed
// from the first publish until the last arrival at the subscriber.
result run_throughput(const options& opts, const connection_factory& make, const std::string& client);

// Ping-pong between two connections: the pinger publishes, the echoer
// republishes what it receives, the pinger times the round trip.
result run_latency(const options& opts, const connection_factory& make, const std::string& client);

// A program may bring its own throughput workload (the raw client does).
using throughput_runner = std::function<result(const options&)>;

// A bench program's main: parses the arguments, runs the workload, prints
// the RESULT line. Exit status 0, 1 on failure, 2 on bad arguments.
int bench_main(int argc, char** argv, const char* client, const connection_factory& make,
               const throughput_runner& throughput = {});

// Client ids and topics unique per run, so runs never see each other's messages.
std::string client_id(const options& opts, const std::string& client, const char* role);
std::string topic(const options& opts, const std::string& client, const char* name);

}  // namespace bench
