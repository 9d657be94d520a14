#pragma once

// The main thread's wait in mqtt_sub: until a callback says "done", SIGINT or
// SIGTERM arrives, or a deadline (-W) passes; no polling. POSIX only.
//
// The constructor blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread.
// Construct it first in main, before any thread exists (the client's loop
// thread, Asio's resolver thread): threads inherit the mask, so these signals
// stay pending until wait() takes them, and Ctrl-C becomes a clean disconnect
// instead of killing the process mid-write.

#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <optional>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace cli {

class signal_waiter {
public:
    using clock = std::chrono::steady_clock;
    enum class result { woken, interrupted, timed_out };

    signal_waiter()
    {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    }
    signal_waiter(const signal_waiter&) = delete;
    signal_waiter& operator=(const signal_waiter&) = delete;

    // Any thread: wait() returns `woken` (now, or at once when called later).
    // Several wakes may fold into one, so the waiter re-checks its condition.
    void wake() { ::kill(::getpid(), SIGUSR1); }

    // `interrupted` for SIGINT/SIGTERM, `timed_out` once `deadline` passed.
    result wait(std::optional<clock::time_point> deadline)
    {
        for (;;) {
            int sig = 0;
            if (!deadline) {
                if (sigwait(&set_, &sig) != 0) continue;
            } else {
                const auto left = *deadline - clock::now();
                if (left <= clock::duration::zero()) return result::timed_out;
                const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
                timespec ts{};
                ts.tv_sec = static_cast<std::time_t>(ns / 1000000000);
                ts.tv_nsec = static_cast<long>(ns % 1000000000);
                sig = sigtimedwait(&set_, nullptr, &ts);
                if (sig < 0) continue;  // EAGAIN (the deadline check above ends it) or EINTR
            }
            return sig == SIGUSR1 ? result::woken : result::interrupted;
        }
    }

private:
    sigset_t set_{};
};

}  // namespace cli
