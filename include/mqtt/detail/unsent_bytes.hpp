#pragma once

// How many bytes a socket's kernel send queue still holds. A write completes
// once its bytes are in that queue; on a slow link they drain for a long
// while after, and a PINGREQ queued behind them waits too. The keepalive
// counts draining as progress, so it needs to see it.

#include <cstddef>
#include <optional>

#if defined(__linux__)
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

namespace mqtt {
inline namespace v1 {
namespace detail {

// nullopt where the platform cannot tell.
inline std::optional<std::size_t> unsent_bytes(int native_socket) noexcept
{
#if defined(__linux__)
    int queued = 0;
    if (native_socket >= 0 && ::ioctl(native_socket, SIOCOUTQ, &queued) == 0 && queued >= 0)
        return static_cast<std::size_t>(queued);
#else
    (void)native_socket;
#endif
    return std::nullopt;
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
