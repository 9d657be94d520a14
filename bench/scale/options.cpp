#include "scale/options.hpp"

#include <unistd.h>

#include <string_view>

namespace scale {

namespace {

unsigned long long parse_number(std::string_view flag, const std::string& text, unsigned long long min,
                                unsigned long long max)
{
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || text[0] == '-' || value < min || value > max)
        throw usage_error(std::string(flag) + ": '" + text + "' is not a number in " + std::to_string(min) + ".." +
                          std::to_string(max));
    return value;
}

}  // namespace

const char* usage_text()
{
    return "usage: bench_scale_<client> --workload idle|active [--clients N] [--keepalive S]\n"
           "         [--idle-ms MS] [--connect-window N]                       (idle)\n"
           "         [--qos 0|1] [--payload B] [--count N] [--window N]          (active)\n"
           "         [--host 127.0.0.1] [--port 1883] [--timeout-ms MS] [--stall-ms MS]\n"
           "         [--budget-ms MS] [--run-id ID]\n"
           "Prints one line: RESULT client=... workload=... (key=value ...)\n";
}

const char* workload_name(workload kind)
{
    return kind == workload::idle ? "idle" : "active";
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
            if (value == "idle")
                opts.kind = workload::idle;
            else if (value == "active")
                opts.kind = workload::active;
            else
                throw usage_error("--workload: '" + value + "' is not idle or active");
        } else if (flag == "--clients") {
            opts.clients = parse_number(flag, value, 1, 1000000);
        } else if (flag == "--qos") {
            opts.qos = static_cast<int>(parse_number(flag, value, 0, 1));
        } else if (flag == "--payload") {
            opts.payload = parse_number(flag, value, 0, 1u << 20);
        } else if (flag == "--count") {
            opts.count = parse_number(flag, value, 1, 100000000);
        } else if (flag == "--window") {
            opts.window = parse_number(flag, value, 1, 65535);
        } else if (flag == "--connect-window") {
            opts.connect_window = parse_number(flag, value, 1, 1000000);
        } else if (flag == "--keepalive") {
            opts.keepalive = static_cast<int>(parse_number(flag, value, 5, 65535));
        } else if (flag == "--idle-ms") {
            opts.idle_period = std::chrono::milliseconds(parse_number(flag, value, 0, 3600000));
        } else if (flag == "--host") {
            opts.host = value;
        } else if (flag == "--port") {
            opts.port = static_cast<std::uint16_t>(parse_number(flag, value, 1, 65535));
        } else if (flag == "--timeout-ms") {
            opts.timeout = std::chrono::milliseconds(parse_number(flag, value, 1, 3600000));
        } else if (flag == "--stall-ms") {
            opts.stall_timeout = std::chrono::milliseconds(parse_number(flag, value, 1, 3600000));
        } else if (flag == "--budget-ms") {
            opts.budget = std::chrono::milliseconds(parse_number(flag, value, 1, 3600000));
        } else if (flag == "--run-id") {
            opts.run_id = value;
        } else {
            throw usage_error("unknown argument '" + std::string(flag) + "'");
        }
    }
    if (opts.clients == 0) opts.clients = opts.kind == workload::idle ? 10000 : 1000;
    if (opts.run_id.empty())
        opts.run_id = std::to_string(::getpid()) + "-" +
                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
    return opts;
}

}  // namespace scale
