#pragma once

// A blocking TCP socket with TCP_NODELAY, plain POSIX: the raw client must
// not inherit any library's I/O layer.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace bench {

class tcp_socket {
public:
    tcp_socket(const std::string& host, std::uint16_t port);  // throws bench_error
    ~tcp_socket();
    tcp_socket(const tcp_socket&) = delete;
    tcp_socket& operator=(const tcp_socket&) = delete;

    void send_all(const void* data, std::size_t n);
    // Writes every byte of the iovecs (modifies them while advancing).
    void send_all(iovec* parts, std::size_t count);
    // How long receive_some waits at most, so that reader loops can notice
    // they are to stop.
    static constexpr int receive_timeout_ms = 100;

    // Reads what is there, waiting at most receive_timeout_ms: 0 bytes on
    // timeout; throws on error or when the broker closed the connection.
    std::size_t receive_some(void* buffer, std::size_t capacity);

private:
    int fd_ = -1;
};

}  // namespace bench
