#pragma once

// A tiny blocking TCP client for tests that speak raw bytes to a broker
// (POSIX, no Asio). Every operation is bounded by a timeout; failures throw
// std::runtime_error saying what was expected and what happened.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace mqtt_test {

using bytes = std::vector<std::uint8_t>;

// "20 02 00 00": for assertion messages.
std::string to_hex(const bytes& data);

class raw_socket {
public:
  static constexpr std::chrono::milliseconds default_timeout{5000};

  // Connects to host:port (numeric or resolvable host), throws on failure or
  // after `timeout`.
  raw_socket(const std::string& host, std::uint16_t port,
             std::chrono::milliseconds timeout = default_timeout);
  ~raw_socket();
  raw_socket(raw_socket&& other) noexcept;
  raw_socket& operator=(raw_socket&& other) noexcept;
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  // Sends every byte or throws (peer closed: "connection reset/closed by peer").
  // Never raises SIGPIPE.
  void send(const bytes& data, std::chrono::milliseconds timeout = default_timeout);
  void send(std::initializer_list<std::uint8_t> data, std::chrono::milliseconds timeout = default_timeout);

  // Reads exactly n bytes. Throws on timeout or when the peer closes first;
  // the message shows the bytes that did arrive.
  bytes read_exactly(std::size_t n, std::chrono::milliseconds timeout = default_timeout);

  enum class read_status { complete, timed_out, closed };
  // Non-throwing variant (for tests that expect a timeout or a close): appends
  // what arrived to `out`; `complete` when n bytes arrived.
  read_status try_read_exactly(std::size_t n, bytes& out, std::chrono::milliseconds timeout = default_timeout);

  // True when the peer closes the connection (EOF or reset) within `timeout`;
  // bytes that arrive meanwhile are discarded.
  bool wait_for_close(std::chrono::milliseconds timeout = default_timeout);

  void shutdown_write();  // half-close: send FIN
  void close();
  bool is_open() const { return fd_ >= 0; }
  int native_handle() const { return fd_; }

private:
  int fd_ = -1;
  std::string peer_;  // "host:port", for messages
};

}  // namespace mqtt_test
