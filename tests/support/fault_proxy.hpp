#pragma once

// A fault-injecting TCP proxy for tests: listens on 127.0.0.1 (a free port),
// forwards every accepted connection to 127.0.0.1:<upstream port> (the broker
// fixture) and, on request, breaks the traffic the way real networks do:
//
//   cut_all()            close every open connection now (both sides see FIN)
//   cut_after_bytes(n)   the connection that carries the n-th byte from now is
//                        closed right after that byte (the byte is forwarded,
//                        the rest of its chunk is not) - in either direction
//                        or only one
//   cut_randomly(...)    the same, repeated: each cut point is drawn from a
//                        seeded RNG, at most max_cuts times
//   stall() / resume()   stop forwarding both ways while keeping both sockets
//                        open (a half-open link: the peer is silent, TCP is
//                        up); a close by either side is not passed on either
//   delay(d)             each chunk waits d before it is forwarded
//   refuse_for(d)        new connections are accepted and closed at once for
//                        d (open connections are left alone)
//
// The proxy runs its own asio::io_context on its own thread. Every control
// call may be made from any thread; it returns once the proxy applied it
// (bounded: throws std::runtime_error if the proxy thread does not answer in
// 10 s). The destructor closes everything and joins the thread.
//
// Bounded: at most max_connections open at once (more are refused), one
// 16 KiB buffer per direction and connection (reading pauses until a chunk is
// forwarded, so a stalled or delayed link holds at most one buffer per
// direction; the rest stays in the kernel and TCP flow control slows the
// sender), delays up to max_delay, refusal up to max_refusal.
//
// The header includes no Asio (cheap to include in every test).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mqtt_test {

class fault_proxy {
public:
  enum class direction {
    both,       // bytes in either direction count
    to_broker,  // client -> broker only
    to_client,  // broker -> client only
  };

  static constexpr std::size_t max_connections = 64;
  static constexpr std::size_t buffer_size = 16 * 1024;
  static constexpr std::chrono::milliseconds max_delay{10000};
  static constexpr std::chrono::milliseconds max_refusal{120000};

  // Starts listening at once. Throws std::runtime_error when it cannot.
  explicit fault_proxy(std::uint16_t upstream_port, std::string upstream_host = "127.0.0.1");
  ~fault_proxy();
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  std::uint16_t port() const;
  const std::string& host() const;  // "127.0.0.1"

  // Closes every open connection; returns once they are closed.
  void cut_all();
  // Arms a one-shot cut: the next `n` bytes forwarded (counted over all
  // connections, in `dir`) pass, then the connection that carried the last of
  // them is closed. n = 0 cuts the connection that carries the next byte
  // before that byte. Replaces any cut armed before.
  void cut_after_bytes(std::size_t n, direction dir = direction::both);
  // Repeated cuts at seeded random points: each cut point is drawn uniformly
  // from [min_bytes, max_bytes] bytes after the previous cut (or after this
  // call), at most max_cuts cuts. Replaces any cut armed before.
  void cut_randomly(std::uint32_t seed, std::size_t min_bytes, std::size_t max_bytes, std::size_t max_cuts,
                    direction dir = direction::both);
  // Disarms cut_after_bytes / cut_randomly.
  void stop_cutting();

  // Half-open simulation: nothing is forwarded in either direction and no
  // close is passed on until resume(); new connections are accepted and
  // connected upstream, but they stall too.
  void stall();
  void resume();

  // Each chunk read waits `d` (clamped to max_delay) before it is forwarded;
  // 0 forwards at once.
  void delay(std::chrono::milliseconds d);

  // For `d` (clamped to max_refusal) every new connection is accepted and
  // closed at once. 0 ends a refusal.
  void refuse_for(std::chrono::milliseconds d);

  // All faults off: resume, no delay, no refusal, no cut armed.
  void clear_faults();

  // Counters, readable from any thread.
  std::size_t accepted() const;          // connections accepted (refused ones included)
  std::size_t refused() const;           // closed at once by refuse_for or the connection bound
  std::size_t upstream_failures() const; // the broker did not take the connection
  std::size_t cuts() const;              // connections closed by cut_all / cut_after_bytes / cut_randomly
  std::size_t open_connections() const;  // forwarding (or stalled) right now
  std::size_t bytes_to_broker() const;
  std::size_t bytes_to_client() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mqtt_test
