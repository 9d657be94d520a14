#pragma once

// What the kernel says about this process: resident memory, threads, the
// open-file limit. Socket buffers are kernel memory and not in VmRSS.

#include <sys/resource.h>

#include <cstddef>
#include <fstream>
#include <string>

namespace scale {

// A "Name:   value" field of /proc/self/status as a number (VmRSS is in kB); 0 when absent.
inline std::size_t proc_status_field(const std::string& name)
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.compare(0, name.size() + 1, name + ":") == 0) return std::stoull(line.substr(name.size() + 1));
    return 0;
}

inline std::size_t rss_kib() { return proc_status_field("VmRSS"); }
inline std::size_t thread_count() { return proc_status_field("Threads"); }

// Raises the soft open-file limit to the hard one (one descriptor per
// client, plus the library's own); returns the soft limit now in force.
inline std::size_t raise_fd_limit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace scale
