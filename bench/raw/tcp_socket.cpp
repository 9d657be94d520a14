#include "raw/tcp_socket.hpp"

#include "common/connection.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

namespace bench {

namespace {

[[noreturn]] void throw_errno(const char* what)
{
    throw bench_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

tcp_socket::tcp_socket(const std::string& host, std::uint16_t port)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found))
        throw bench_error("resolve " + host + ": " + ::gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd_ < 0) continue;
        if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
        ::close(fd_);
        fd_ = -1;
    }
    if (fd_ < 0) throw_errno(("connect to " + host + ":" + std::to_string(port)).c_str());
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    // A receive timeout rather than poll() before each recv(): one system call per read.
    const timeval timeout{0, receive_timeout_ms * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

tcp_socket::~tcp_socket()
{
    if (fd_ >= 0) ::close(fd_);
}

void tcp_socket::send_all(const void* data, std::size_t n)
{
    iovec part{const_cast<void*>(data), n};
    send_all(&part, 1);
}

void tcp_socket::send_all(iovec* parts, std::size_t count)
{
    while (count > 0) {
        msghdr msg{};
        msg.msg_iov = parts;
        msg.msg_iovlen = std::min<std::size_t>(count, IOV_MAX);
        ssize_t sent = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            throw_errno("send");
        }
        // Skip what was written: whole parts, then the front of a partial one.
        while (count > 0 && static_cast<std::size_t>(sent) >= parts->iov_len) {
            sent -= static_cast<ssize_t>(parts->iov_len);
            ++parts;
            --count;
        }
        if (count > 0) {
            parts->iov_base = static_cast<char*>(parts->iov_base) + sent;
            parts->iov_len -= static_cast<std::size_t>(sent);
        }
    }
}

std::size_t tcp_socket::receive_some(void* buffer, std::size_t capacity)
{
    for (;;) {
        const ssize_t n = ::recv(fd_, buffer, capacity, 0);
        if (n > 0) return static_cast<std::size_t>(n);
        if (n == 0) throw bench_error("the broker closed the connection");
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno != EINTR) throw_errno("recv");
    }
}

}  // namespace bench
