#include "support/scripted_broker.hpp"

#include <mqtt/protocol/decoder.hpp>
#include <mqtt/protocol/describe.hpp>
#include <mqtt/protocol/encoder.hpp>
#include <mqtt/protocol/packet.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <fcntl.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>

namespace mqtt_test {
namespace {

namespace mp = mqtt::protocol;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto send_timeout = 5s;         // per reply/send_raw, when the client does not read
constexpr std::size_t shown_bytes = 32;   // of undecodable input, in failure messages

[[noreturn]] void throw_errno(const std::string& what, int e = errno) {
  throw std::runtime_error("mqtt_test::scripted_broker: " + what + ": " + std::strerror(e));
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// poll() timeout until the deadline: 0 when past, INT_MAX-capped.
int remaining_ms(clock_type::time_point deadline) {
  const auto now = clock_type::now();
  if (deadline <= now) return 0;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
  return left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

// "20 02 00 00"; " ..." when `total` (the size of the whole) is larger.
std::string hex(const std::uint8_t* data, std::size_t size, std::size_t total) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < size; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", data[i]);
    if (i) out += ' ';
    out += buf;
  }
  if (total > size) out += " ...";
  return out;
}

std::string hex(const std::vector<std::uint8_t>& data, std::size_t total) {
  return hex(data.data(), data.size(), total);
}

const char* type_name(mp::packet_type t) {
  switch (t) {
    case mp::packet_type::connect: return "CONNECT";
    case mp::packet_type::connack: return "CONNACK";
    case mp::packet_type::publish: return "PUBLISH";
    case mp::packet_type::puback: return "PUBACK";
    case mp::packet_type::pubrec: return "PUBREC";
    case mp::packet_type::pubrel: return "PUBREL";
    case mp::packet_type::pubcomp: return "PUBCOMP";
    case mp::packet_type::subscribe: return "SUBSCRIBE";
    case mp::packet_type::suback: return "SUBACK";
    case mp::packet_type::unsubscribe: return "UNSUBSCRIBE";
    case mp::packet_type::unsuback: return "UNSUBACK";
    case mp::packet_type::pingreq: return "PINGREQ";
    case mp::packet_type::pingresp: return "PINGRESP";
    case mp::packet_type::disconnect: return "DISCONNECT";
  }
  return "packet type ?";
}

// Printable ASCII as is, the rest as \xNN; at most 64 bytes.
std::string quoted(const std::string& s) {
  std::string out = "'";
  char buf[8];
  const std::size_t n = s.size() < 64 ? s.size() : 64;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += "'";
  if (s.size() > n) out += "...";
  return out;
}

// describe() plus the fields it hides on purpose (payloads, password), for
// telling apart two packets whose descriptions are the same.
std::string describe_fully(const mp::packet& p) {
  std::string text = mp::describe(p);
  if (const auto* pub = std::get_if<mp::publish>(&p)) {
    text += " payload " + quoted(pub->payload);
  } else if (const auto* con = std::get_if<mp::connect>(&p)) {
    text += std::string(" version ") + std::to_string(static_cast<int>(con->version));
    if (con->username) text += " username " + quoted(*con->username);
    if (con->password) text += " password " + quoted(*con->password);
    if (con->will) text += " will topic " + quoted(con->will->topic) + " payload " + quoted(con->will->payload);
  }
  return text;
}

enum class step_kind {
  accept,
  expect_type,
  expect_packet,
  reply_packet,
  reply_made,
  send_raw,
  expect_silence,
  expect_closed,
  close,
  reset,
  pause,
  run,
};

// What a connection delivers to the steps, in order.
struct event {
  enum class kind { packet, undecodable, closed };
  kind what = kind::packet;
  std::optional<mp::packet> packet;
  std::string text;  // undecodable: cause and bytes; closed: EOF or reset
  clock_type::time_point at = clock_type::now();
};

std::string describe_event(const event& e) {
  switch (e.what) {
    case event::kind::packet: return mp::describe(*e.packet);
    case event::kind::undecodable: return "undecodable bytes (" + e.text + ")";
    case event::kind::closed: return e.text;
  }
  return "?";
}

struct connection {
  int fd = -1;
  std::size_t number = 0;  // 1 for the first accepted
  mp::decoder decoder;
  std::deque<event> events;  // not taken by a step yet
  bool peer_closed = false;  // EOF or error read: no longer polled
  std::vector<std::uint8_t> current_bytes;  // start of the packet being decoded
  std::size_t current_size = 0;             // its size so far
};

enum class outcome { ok, failed, stopped };

}  // namespace

struct scripted_broker::impl {
  struct step {
    explicit step(step_kind k) : kind(k) {}
    step_kind kind;
    std::chrono::milliseconds duration{0};
    packet_type type = packet_type::connect;
    std::optional<packet> exact;
    check_function check;
    make_function make;
    std::function<void()> fn;
    std::vector<std::uint8_t> bytes;
  };

  // Set up by the constructor, then owned by the thread.
  int listen_fd = -1;
  int wake_read = -1;
  int wake_write = -1;
  std::uint16_t port = 0;
  std::vector<step> steps;
  bool started = false;
  std::thread thread;
  std::atomic<bool> stop{false};

  // The thread's alone.
  std::vector<std::unique_ptr<connection>> connections;
  connection* current = nullptr;
  std::optional<packet> last;  // taken by the most recent expect step
  std::string failure_text;    // set by a step that fails

  // Shared, under mutex.
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> failures;
  std::vector<packet> received;
  std::size_t accepted = 0;
  std::size_t running_step = 0;  // 1-based; 0 before the first
  bool finished = false;
  bool failed = false;

  // Appends a step (script building, before start() only).
  step& add(step_kind kind) {
    if (started) throw std::logic_error("mqtt_test::scripted_broker: the script cannot change after start()");
    steps.emplace_back(kind);
    return steps.back();
  }

  ~impl() {
    for (auto& c : connections) close_fd(c->fd);
    close_fd(listen_fd);
    close_fd(wake_read);
    close_fd(wake_write);
  }

  std::string step_label(const step& s) const {
    switch (s.kind) {
      case step_kind::accept: return "accept";
      case step_kind::expect_type: return std::string("expect ") + type_name(s.type);
      case step_kind::expect_packet: return "expect " + mp::describe(*s.exact);
      case step_kind::reply_packet: return "reply " + mp::describe(*s.exact);
      case step_kind::reply_made: return "reply (made from the last packet)";
      case step_kind::send_raw: return "send_raw (" + std::to_string(s.bytes.size()) + " bytes)";
      case step_kind::expect_silence: return "expect_silence " + ms_text(s.duration);
      case step_kind::expect_closed: return "expect_closed";
      case step_kind::close: return "close";
      case step_kind::reset: return "reset";
      case step_kind::pause: return "pause " + ms_text(s.duration);
      case step_kind::run: return "run";
    }
    return "?";
  }

  // ---------------------------------------------------------------- I/O

  bool stopping() const { return stop.load(std::memory_order_acquire); }

  void on_bytes(connection& c, const std::uint8_t* data, std::size_t size) {
    while (size > 0 && !c.decoder.failed()) {
      std::optional<packet> out;
      std::error_code ec;
      const std::size_t used = c.decoder.feed(data, size, out, ec);
      for (std::size_t i = 0; i < used && c.current_bytes.size() < shown_bytes; ++i)
        c.current_bytes.push_back(data[i]);
      c.current_size += used;
      data += used;
      size -= used;
      if (ec) {
        event e;
        e.what = event::kind::undecodable;
        e.text = ec.message() + ": " + hex(c.current_bytes, c.current_size);
        c.events.push_back(std::move(e));
        return;  // the rest of the stream is discarded (the decoder refuses it)
      }
      if (out) {
        c.current_bytes.clear();
        c.current_size = 0;
        {
          std::lock_guard<std::mutex> lock(mutex);
          received.push_back(*out);
        }
        event e;
        e.packet = std::move(out);
        c.events.push_back(std::move(e));
      }
    }
  }

  void read_from(connection& c) {
    std::uint8_t buf[16384];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        on_bytes(c, buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      event e;
      e.what = event::kind::closed;
      if (n == 0) {
        e.text = c.current_size > 0 ? "the client closed the connection in the middle of a packet (" +
                                          hex(c.current_bytes, c.current_size) + ")"
                                    : "the client closed the connection";
      } else {
        e.text = std::string("connection error (") + std::strerror(errno) + ")";
      }
      c.peer_closed = true;
      c.events.push_back(std::move(e));
      return;
    }
  }

  // Accepts one pending connection; true when one was.
  bool accept_one() {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return false;  // EAGAIN (spurious wake-up), ECONNABORTED, ...: keep waiting
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<connection>();
    c->fd = fd;
    {
      std::lock_guard<std::mutex> lock(mutex);
      c->number = ++accepted;
    }
    current = c.get();
    connections.push_back(std::move(c));
    return true;
  }

  enum class wake { ready, timeout, stopped };

  // Reads every open connection (and accepts one connection when
  // `accepting`) until ready() holds, the deadline passes, or stop.
  template <class Ready>
  wake wait_until(clock_type::time_point deadline, Ready&& ready, bool accepting = false) {
    std::vector<pollfd> fds;
    std::vector<connection*> polled;
    for (;;) {
      if (ready()) return wake::ready;
      if (stopping()) return wake::stopped;
      const int timeout = remaining_ms(deadline);
      if (timeout == 0) return wake::timeout;

      fds.clear();
      polled.clear();
      fds.push_back(pollfd{wake_read, POLLIN, 0});
      if (accepting) fds.push_back(pollfd{listen_fd, POLLIN, 0});
      for (auto& c : connections) {
        if (c->fd < 0 || c->peer_closed) continue;
        fds.push_back(pollfd{c->fd, POLLIN, 0});
        polled.push_back(c.get());
      }
      const int n = ::poll(fds.data(), fds.size(), timeout);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("poll");
      }
      if (n == 0) continue;
      if (fds[0].revents != 0) return wake::stopped;  // only the destructor writes the pipe
      const std::size_t first_conn = accepting ? 2 : 1;
      for (std::size_t i = 0; i < polled.size(); ++i)
        if (fds[first_conn + i].revents != 0) read_from(*polled[i]);
      if (accepting && fds[1].revents != 0 && accept_one()) accepting = false;
    }
  }

  // Sends every byte within send_timeout; an empty string when it did.
  std::string send_all(connection& c, const std::vector<std::uint8_t>& data, outcome& stopped) {
    const auto deadline = clock_type::now() + send_timeout;
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(c.fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd fds[2] = {{wake_read, POLLIN, 0}, {c.fd, POLLOUT, 0}};
        const int timeout = remaining_ms(deadline);
        if (timeout == 0)
          return "send timed out after " + std::to_string(sent) + " of " + std::to_string(data.size()) +
                 " bytes (the client does not read)";
        if (::poll(fds, 2, timeout) < 0 && errno != EINTR) throw_errno("poll");
        if (fds[0].revents != 0 || stopping()) {
          stopped = outcome::stopped;
          return "stopped";
        }
        continue;
      }
      return "send failed after " + std::to_string(sent) + " of " + std::to_string(data.size()) +
             " bytes: " + std::strerror(errno);
    }
    return {};
  }

  void close_connection(connection& c, bool with_reset) {
    if (c.fd < 0) return;
    if (with_reset) {
      linger l{1, 0};
      ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    } else {
      ::shutdown(c.fd, SHUT_RDWR);
    }
    close_fd(c.fd);
    c.events.clear();
  }

  // ---------------------------------------------------------------- steps

  outcome fail(std::string text) {
    failure_text = std::move(text);
    return outcome::failed;
  }

  static outcome from(wake w) { return w == wake::stopped ? outcome::stopped : outcome::ok; }

  bool need_current(const std::string& what) {
    if (current != nullptr && current->fd >= 0) return true;
    failure_text = what + ", but there is no current connection (" +
                   (current == nullptr ? "accept() it first" : "it was closed by an earlier step") + ")";
    return false;
  }

  // Waits for the next event on the current connection.
  outcome next_event(std::chrono::milliseconds timeout, const std::string& expected, event& out) {
    connection& c = *current;
    const auto w = wait_until(clock_type::now() + timeout, [&] { return !c.events.empty() || c.peer_closed; });
    if (w == wake::stopped) return outcome::stopped;
    if (w == wake::timeout) return fail(expected + ", got nothing within " + ms_text(timeout));
    if (c.events.empty()) return fail(expected + ", but the client had closed the connection before");
    out = std::move(c.events.front());
    c.events.pop_front();
    return outcome::ok;
  }

  outcome expect_type(const step& s) {
    const std::string expected = std::string("expected ") + type_name(s.type);
    if (!need_current(expected)) return outcome::failed;
    event e;
    if (auto o = next_event(s.duration, expected, e); o != outcome::ok) return o;
    if (e.what != event::kind::packet) return fail(expected + ", got " + describe_event(e));
    last = e.packet;
    if (mp::type_of(*e.packet) != s.type) return fail(expected + ", got " + mp::describe(*e.packet));
    if (s.check) {
      try {
        s.check(*e.packet);
      } catch (const std::exception& ex) {
        return fail(expected + ", got " + mp::describe(*e.packet) + ", which failed the check: " + ex.what());
      } catch (...) {
        return fail(expected + ", got " + mp::describe(*e.packet) +
                    ", which failed the check (an exception not derived from std::exception)");
      }
    }
    return outcome::ok;
  }

  outcome expect_packet(const step& s) {
    const std::string expected = "expected " + mp::describe(*s.exact);
    if (!need_current(expected)) return outcome::failed;
    event e;
    if (auto o = next_event(s.duration, expected, e); o != outcome::ok) return o;
    if (e.what != event::kind::packet) return fail(expected + ", got " + describe_event(e));
    last = e.packet;
    if (*e.packet == *s.exact) return outcome::ok;
    std::string want = mp::describe(*s.exact);
    std::string got = mp::describe(*e.packet);
    if (want == got) {  // they differ where describe() does not look
      want = describe_fully(*s.exact);
      got = describe_fully(*e.packet);
      return fail("expected " + want + ", got " + got);
    }
    return fail(expected + ", got " + got);
  }

  outcome send_step(const std::string& what, const std::vector<std::uint8_t>& data) {
    if (!need_current(what)) return outcome::failed;
    outcome result = outcome::ok;
    std::string error = send_all(*current, data, result);
    if (result == outcome::stopped) return result;
    if (!error.empty()) return fail(what + ": " + error);
    return outcome::ok;
  }

  outcome reply_packet(const packet& p) {
    std::vector<std::uint8_t> data;
    mp::encode(p, data);
    return send_step("reply " + mp::describe(p), data);
  }

  outcome reply_made(const step& s) {
    if (!last) return fail("reply made from the last packet, but no step took a packet yet");
    packet p;
    try {
      p = s.make(*last);
    } catch (const std::exception& ex) {
      return fail(std::string("reply made from ") + mp::describe(*last) + ": make threw: " + ex.what());
    } catch (...) {
      return fail("reply made from " + mp::describe(*last) + ": make threw");
    }
    return reply_packet(p);
  }

  outcome expect_silence(const step& s) {
    const std::string expected = "expected silence for " + ms_text(s.duration);
    if (!need_current(expected)) return outcome::failed;
    connection& c = *current;
    const auto start = clock_type::now();
    const auto w = wait_until(start + s.duration, [&] { return !c.events.empty(); });
    if (w == wake::stopped) return outcome::stopped;
    if (w == wake::timeout) return outcome::ok;
    const event& e = c.events.front();
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(e.at - start);
    return fail(expected + ", got " + describe_event(e) +
                (after.count() > 0 ? " after " + ms_text(after) : std::string(" (already there)")));
  }

  outcome expect_closed(const step& s) {
    const std::string expected = "expected the client to close the connection within " + ms_text(s.duration);
    if (!need_current(expected)) return outcome::failed;
    const auto deadline = clock_type::now() + s.duration;
    connection& c = *current;
    for (;;) {
      if (c.peer_closed && c.events.empty()) return outcome::ok;  // an earlier step took the close
      const auto w = wait_until(deadline, [&] { return !c.events.empty(); });
      if (w == wake::stopped) return outcome::stopped;
      if (w == wake::timeout) return fail(expected + ", it stayed open");
      event e = std::move(c.events.front());
      c.events.pop_front();
      if (e.what == event::kind::closed) return outcome::ok;
      if (e.what == event::kind::undecodable) return fail(expected + ", got " + describe_event(e));
      last = e.packet;
      if (mp::type_of(*e.packet) != packet_type::disconnect)
        return fail(expected + ", got " + mp::describe(*e.packet));
    }
  }

  outcome run_step(const step& s) {
    switch (s.kind) {
      case step_kind::accept: {
        const auto w = wait_until(clock_type::now() + s.duration, [&, before = connections.size()] {
          return connections.size() > before;
        }, true);
        if (w == wake::timeout)
          return fail("expected a client connection within " + ms_text(s.duration) + ", none came");
        return from(w);
      }
      case step_kind::expect_type: return expect_type(s);
      case step_kind::expect_packet: return expect_packet(s);
      case step_kind::reply_packet: return reply_packet(*s.exact);
      case step_kind::reply_made: return reply_made(s);
      case step_kind::send_raw:
        return send_step("send_raw " + hex(s.bytes.data(), std::min(s.bytes.size(), shown_bytes), s.bytes.size()),
                         s.bytes);
      case step_kind::expect_silence: return expect_silence(s);
      case step_kind::expect_closed: return expect_closed(s);
      case step_kind::close:
      case step_kind::reset:
        if (!need_current(s.kind == step_kind::close ? "close" : "reset")) return outcome::failed;
        close_connection(*current, s.kind == step_kind::reset);
        current = nullptr;
        return outcome::ok;
      case step_kind::pause:
        return from(wait_until(clock_type::now() + s.duration, [] { return false; }));
      case step_kind::run:
        try {
          s.fn();
        } catch (const std::exception& ex) {
          return fail(std::string("run: threw: ") + ex.what());
        } catch (...) {
          return fail("run: threw an exception not derived from std::exception");
        }
        return outcome::ok;
    }
    return fail("unknown step");
  }

  void main() {
    try {
      for (std::size_t i = 0; i < steps.size(); ++i) {
        {
          std::lock_guard<std::mutex> lock(mutex);
          running_step = i + 1;
        }
        const outcome o = run_step(steps[i]);
        if (o == outcome::stopped) return;
        if (o == outcome::failed) {
          std::lock_guard<std::mutex> lock(mutex);
          failures.push_back("step " + std::to_string(i + 1) + ": " + failure_text);
          failed = true;
          changed.notify_all();
          break;
        }
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failed) finished = true;
        changed.notify_all();
      }
      // Keep reading and recording, answer nothing, until destruction.
      wait_until(clock_type::time_point::max(), [] { return false; });
    } catch (const std::exception& ex) {  // a failing poll(): report it rather than terminate
      std::lock_guard<std::mutex> lock(mutex);
      failures.push_back(std::string("scripted_broker internal error: ") + ex.what());
      failed = true;
      changed.notify_all();
    }
  }
};

scripted_broker::scripted_broker() : impl_(std::make_unique<impl>()) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe2");
  impl_->wake_read = pipe_fds[0];
  impl_->wake_write = pipe_fds[1];

  impl_->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (impl_->listen_fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(impl_->listen_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind");
  if (::listen(impl_->listen_fd, 16) != 0) throw_errno("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
  impl_->port = ntohs(addr.sin_port);
}

scripted_broker::~scripted_broker() {
  if (impl_->thread.joinable()) {
    impl_->stop.store(true, std::memory_order_release);
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(impl_->wake_write, &byte, 1);
    impl_->thread.join();
  }
  // impl's destructor closes every socket
}

std::uint16_t scripted_broker::port() const { return impl_->port; }
std::string scripted_broker::host() const { return "127.0.0.1"; }

scripted_broker& scripted_broker::accept(std::chrono::milliseconds timeout) {
  impl_->add(step_kind::accept).duration = timeout;
  return *this;
}

scripted_broker& scripted_broker::expect(packet_type type, check_function check, std::chrono::milliseconds timeout) {
  auto& s = impl_->add(step_kind::expect_type);
  s.type = type;
  s.check = std::move(check);
  s.duration = timeout;
  return *this;
}

scripted_broker& scripted_broker::expect(packet p, std::chrono::milliseconds timeout) {
  auto& s = impl_->add(step_kind::expect_packet);
  s.exact = std::move(p);
  s.duration = timeout;
  return *this;
}

scripted_broker& scripted_broker::reply(packet p) {
  impl_->add(step_kind::reply_packet).exact = std::move(p);
  return *this;
}

scripted_broker& scripted_broker::reply(make_function make) {
  if (!make) throw std::invalid_argument("mqtt_test::scripted_broker::reply: empty function");
  impl_->add(step_kind::reply_made).make = std::move(make);
  return *this;
}

scripted_broker& scripted_broker::send_raw(std::vector<std::uint8_t> bytes) {
  impl_->add(step_kind::send_raw).bytes = std::move(bytes);
  return *this;
}

scripted_broker& scripted_broker::expect_silence(std::chrono::milliseconds d) {
  impl_->add(step_kind::expect_silence).duration = d;
  return *this;
}

scripted_broker& scripted_broker::expect_closed(std::chrono::milliseconds timeout) {
  impl_->add(step_kind::expect_closed).duration = timeout;
  return *this;
}

scripted_broker& scripted_broker::close() {
  impl_->add(step_kind::close);
  return *this;
}

scripted_broker& scripted_broker::reset() {
  impl_->add(step_kind::reset);
  return *this;
}

scripted_broker& scripted_broker::pause(std::chrono::milliseconds d) {
  impl_->add(step_kind::pause).duration = d;
  return *this;
}

scripted_broker& scripted_broker::run(std::function<void()> fn) {
  if (!fn) throw std::invalid_argument("mqtt_test::scripted_broker::run: empty function");
  impl_->add(step_kind::run).fn = std::move(fn);
  return *this;
}

void scripted_broker::start() {
  if (impl_->started) throw std::logic_error("mqtt_test::scripted_broker: start() called twice");
  impl_->started = true;
  impl_->thread = std::thread([this] { impl_->main(); });
}

bool scripted_broker::wait_done(std::chrono::milliseconds timeout) {
  if (!impl_->started) return false;
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->changed.wait_for(lock, timeout, [this] { return impl_->finished || impl_->failed; });
  return impl_->finished && impl_->failures.empty();
}

std::vector<std::string> scripted_broker::failures() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->failures;
}

std::vector<scripted_broker::packet> scripted_broker::received() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->received;
}

std::size_t scripted_broker::connections_accepted() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->accepted;
}

std::string scripted_broker::report() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const std::size_t total = impl_->steps.size();
  std::string text = "scripted_broker 127.0.0.1:" + std::to_string(impl_->port) + ", " + std::to_string(total) +
                     " steps: ";
  if (!impl_->started) {
    text += "not started";
  } else if (impl_->finished) {
    text += "finished";
  } else if (impl_->failed) {
    text += "failed";
  } else if (impl_->running_step == 0) {
    text += "starting";
  } else {
    text += "at step " + std::to_string(impl_->running_step) + " (" +
            impl_->step_label(impl_->steps[impl_->running_step - 1]) + ")";
  }
  text += "; " + std::to_string(impl_->accepted) + " connection(s) accepted";
  for (const auto& f : impl_->failures) text += "\n  failure: " + f;
  text += "\n  received " + std::to_string(impl_->received.size()) + " packet(s)";
  for (const auto& p : impl_->received) text += "\n    " + mp::describe(p);
  return text;
}

}  // namespace mqtt_test
