#include "common/options.hpp"

#include <string_view>
#include <unistd.h>

namespace bench {

namespace {

unsigned long long parse_number(std::string_view flag, const std::string& text, unsigned long long max)
{
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || text[0] == '-' || value > max)
        throw usage_error(std::string(flag) + ": '" + text + "' is not a number in 0.." + std::to_string(max));
    return value;
}

std::string default_run_id()
{
    return std::to_string(::getpid()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
}

}  // namespace

const char* usage_text()
{
    return "usage: bench_<client> --workload throughput|latency --qos 0|1|2 --payload BYTES --count N\n"
           "                      [--host 127.0.0.1] [--port 1883] [--timeout-ms 60000]\n"
           "                      [--idle-timeout-ms 3000] [--latency-budget-ms 4000] [--run-id ID]\n"
           "Prints one line: RESULT client=... workload=... (key=value ...)\n";
}

const char* workload_name(workload kind)
{
    return kind == workload::throughput ? "throughput" : "latency";
}

options parse_options(int argc, char** argv)
{
    options opts;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--help" || flag == "-h") throw usage_error("");
        if (i + 1 >= argc) throw usage_error(std::string(flag) + ": missing value");
        const std::string value = argv[++i];
        if (flag == "--workload") {
            if (value == "throughput")
                opts.kind = workload::throughput;
            else if (value == "latency")
                opts.kind = workload::latency;
            else
                throw usage_error("--workload: '" + value + "' is not throughput or latency");
        } else if (flag == "--qos") {
            opts.qos = static_cast<int>(parse_number(flag, value, 2));
        } else if (flag == "--payload") {
            opts.payload = parse_number(flag, value, 256u << 20);
        } else if (flag == "--count") {
            opts.count = parse_number(flag, value, 100000000);
        } else if (flag == "--host") {
            opts.host = value;
        } else if (flag == "--port") {
            opts.port = static_cast<std::uint16_t>(parse_number(flag, value, 65535));
        } else if (flag == "--timeout-ms") {
            opts.timeout = std::chrono::milliseconds(parse_number(flag, value, 3600000));
        } else if (flag == "--idle-timeout-ms") {
            opts.idle_timeout = std::chrono::milliseconds(parse_number(flag, value, 3600000));
        } else if (flag == "--latency-budget-ms") {
            opts.latency_budget = std::chrono::milliseconds(parse_number(flag, value, 3600000));
        } else if (flag == "--run-id") {
            opts.run_id = value;
        } else {
            throw usage_error("unknown argument '" + std::string(flag) + "'");
        }
    }
    if (opts.count == 0) throw usage_error("--count: give the number of messages (> 0)");
    // The ping-pong payload carries an 8-byte sequence number.
    if (opts.kind == workload::latency && opts.payload < 8)
        throw usage_error("--payload: latency needs at least 8 bytes");
    if (opts.run_id.empty()) opts.run_id = default_run_id();
    return opts;
}

}  // namespace bench
