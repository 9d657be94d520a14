#include "support/raw_socket.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace mqtt_test {
namespace {

using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// poll() for `events` until the deadline; returns revents (0 on timeout).
short wait_for(int fd, short events, clock_type::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) throw std::runtime_error(std::string("raw_socket: poll: ") + std::strerror(errno));
  }
}

}  // namespace

std::string to_hex(const bytes& data) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", data[i]);
    if (i) out += ' ';
    out += buf;
  }
  return out;
}

raw_socket::raw_socket(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout)
    : peer_(host + ":" + std::to_string(port)) {
  const auto deadline = clock_type::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &result); rc != 0)
    throw std::runtime_error("raw_socket: cannot resolve " + host + ": " + ::gai_strerror(rc));

  std::string last_error = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        short ev = wait_for(fd, POLLOUT, deadline);
        if (ev == 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof err;
          if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
      }
    }
    if (err == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      break;
    }
    last_error = std::strerror(err);
    ::close(fd);
  }
  ::freeaddrinfo(result);
  if (fd_ < 0) throw std::runtime_error("raw_socket: connect to " + peer_ + " failed: " + last_error);
}

raw_socket::~raw_socket() { close(); }

raw_socket::raw_socket(raw_socket&& other) noexcept : fd_(other.fd_), peer_(std::move(other.peer_)) {
  other.fd_ = -1;
}

raw_socket& raw_socket::operator=(raw_socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    peer_ = std::move(other.peer_);
    other.fd_ = -1;
  }
  return *this;
}

void raw_socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void raw_socket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void raw_socket::send(std::initializer_list<std::uint8_t> data, std::chrono::milliseconds timeout) {
  send(bytes(data), timeout);
}

void raw_socket::send(const bytes& data, std::chrono::milliseconds timeout) {
  if (fd_ < 0) throw std::runtime_error("raw_socket: send on a closed socket");
  const auto deadline = clock_type::now() + timeout;
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_for(fd_, POLLOUT, deadline) == 0)
        throw std::runtime_error("raw_socket: send to " + peer_ + " timed out after " + std::to_string(sent) +
                                 " of " + std::to_string(data.size()) + " bytes");
      continue;
    }
    throw std::runtime_error("raw_socket: send to " + peer_ + " failed after " + std::to_string(sent) + " of " +
                             std::to_string(data.size()) + " bytes: " + std::strerror(errno));
  }
}

raw_socket::read_status raw_socket::try_read_exactly(std::size_t n, bytes& out, std::chrono::milliseconds timeout) {
  if (fd_ < 0) throw std::runtime_error("raw_socket: read on a closed socket");
  const auto deadline = clock_type::now() + timeout;
  std::size_t got = 0;
  std::uint8_t buf[4096];
  while (got < n) {
    std::size_t want = n - got < sizeof buf ? n - got : sizeof buf;
    ssize_t r = ::recv(fd_, buf, want, 0);
    if (r > 0) {
      out.insert(out.end(), buf, buf + r);
      got += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) return read_status::closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_for(fd_, POLLIN, deadline) == 0) return read_status::timed_out;
      continue;
    }
    if (errno == ECONNRESET) return read_status::closed;
    throw std::runtime_error("raw_socket: recv from " + peer_ + ": " + std::strerror(errno));
  }
  return read_status::complete;
}

bytes raw_socket::read_exactly(std::size_t n, std::chrono::milliseconds timeout) {
  bytes out;
  switch (try_read_exactly(n, out, timeout)) {
    case read_status::complete:
      return out;
    case read_status::timed_out:
      throw std::runtime_error("raw_socket: expected " + std::to_string(n) + " bytes from " + peer_ + ", got " +
                               std::to_string(out.size()) + " [" + to_hex(out) + "] before the timeout (" +
                               std::to_string(timeout.count()) + " ms)");
    case read_status::closed:
      break;
  }
  throw std::runtime_error("raw_socket: expected " + std::to_string(n) + " bytes from " + peer_ + ", got " +
                           std::to_string(out.size()) + " [" + to_hex(out) + "] before the peer closed the connection");
}

bool raw_socket::wait_for_close(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    bytes discard;
    switch (try_read_exactly(4096, discard, std::chrono::milliseconds(remaining_ms(deadline)))) {
      case read_status::closed:
        return true;
      case read_status::timed_out:
        return false;
      case read_status::complete:
        break;
    }
  }
}

}  // namespace mqtt_test
