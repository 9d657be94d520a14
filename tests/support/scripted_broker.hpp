#pragma once

// A fake MQTT broker that follows a script, for the cases a real broker never
// produces: malformed packets, silence, abrupt closes, odd CONNACKs, SUBACKs
// whose return-code count does not match, ...
//
//   mqtt_test::scripted_broker b;
//   b.accept()
//       .expect(packet_type::connect)
//       .reply(connack{false, connack_code::accepted})
//       .expect(packet_type::publish)
//       .reply([](const packet& last) { return puback{std::get<publish>(last).packet_id}; })
//       .expect_closed();
//   b.start();
//   ... drive the client against b.host():b.port() ...
//   REQUIRE(b.wait_done());   // or: INFO(b.report()); CHECK(b.wait_done());
//
// It listens on 127.0.0.1 (a free port, bound by the constructor) and runs the
// steps in order on one background thread. The first step that does not go as
// scripted is recorded in failures() and ends the script. Whether it finished
// or failed, the broker then keeps every connection open, goes on reading and
// recording what arrives (received()), answers nothing and accepts no new
// connection, until it is destroyed.
//
// Packets are decoded with mqtt::protocol::decoder and encoded with
// mqtt::protocol::encode; failures describe packets with
// mqtt::protocol::describe. POSIX only, no Asio (cheap to compile).
//
// Bounded: every wait has a timeout; the destructor wakes the thread through a
// self-pipe and joins it at once, whatever step is waiting (except user code
// in run()/check/make callbacks, which it cannot interrupt). Sends never raise
// SIGPIPE.
//
// Thread safety: build the script and call start() on one thread; after
// start() the accessors (wait_done, failures, received, connections_accepted,
// report) may be called from any thread. Callbacks (check, make, run) run on
// the broker's thread: they must not use Catch2 assertions (not thread-safe);
// a check throws a std::exception to fail its step with the exception's
// message.

#include <mqtt/protocol/packet.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mqtt_test {

class scripted_broker {
public:
  using packet = mqtt::protocol::packet;
  using packet_type = mqtt::protocol::packet_type;
  using check_function = std::function<void(const packet&)>;
  using make_function = std::function<packet(const packet& last)>;

  static constexpr std::chrono::milliseconds default_timeout{5000};

  // Binds 127.0.0.1:0 and listens; nothing runs until start(). Throws
  // std::runtime_error when a socket call fails.
  scripted_broker();
  // Stops the thread (bounded, whatever step it is in) and closes every socket.
  ~scripted_broker();

  scripted_broker(const scripted_broker&) = delete;
  scripted_broker& operator=(const scripted_broker&) = delete;
  scripted_broker(scripted_broker&&) = delete;
  scripted_broker& operator=(scripted_broker&&) = delete;

  std::uint16_t port() const;
  std::string host() const;  // "127.0.0.1"

  // --- Script building: before start() only (throws std::logic_error after).
  // Steps are numbered from 1 in the order they are added; failures name them
  // by that number. Every step but accept() acts on the current connection
  // and fails when there is none.

  // Waits for the next client connection, which becomes the current one. The
  // previous current connection stays open (unless close()d) and is still
  // read from and recorded.
  scripted_broker& accept(std::chrono::milliseconds timeout = default_timeout);
  // The next packet from the current connection must be of `type` and, when
  // `check` is given, pass it (check throws std::exception to fail the step).
  scripted_broker& expect(packet_type type, check_function check = {},
                          std::chrono::milliseconds timeout = default_timeout);
  // The next packet from the current connection must equal `p` (operator==).
  scripted_broker& expect(packet p, std::chrono::milliseconds timeout = default_timeout);
  // Encodes `p` and sends it.
  scripted_broker& reply(packet p);
  // Sends make(last), where `last` is the packet the most recent expect() or
  // expect_closed() step took (on any connection), e.g. a PUBACK with the
  // PUBLISH's packet id. Fails when no packet was taken yet or make throws.
  scripted_broker& reply(make_function make);
  // Sends arbitrary bytes as they are (malformed packets, partial packets).
  scripted_broker& send_raw(std::vector<std::uint8_t> bytes);
  // Nothing at all arrives from the client for `d`: a packet, undecodable
  // bytes or a close by the client fails the step at once. Packets that
  // arrived earlier and no step took yet count too.
  scripted_broker& expect_silence(std::chrono::milliseconds d);
  // The client closes the connection (EOF or reset) within `timeout`. Packets
  // that come first are allowed only when they are DISCONNECTs.
  scripted_broker& expect_closed(std::chrono::milliseconds timeout = default_timeout);
  // Abrupt close of the current connection by the broker (shutdown + close:
  // the client sees EOF); there is no current connection afterwards.
  scripted_broker& close();
  // Like close() but with SO_LINGER 0: the client sees a reset (RST).
  scripted_broker& reset();
  // Just waits (still reading and recording what arrives, for later steps).
  scripted_broker& pause(std::chrono::milliseconds d);
  // Runs fn on the broker's thread at this point (e.g. to signal the test).
  // An exception from fn fails the step.
  scripted_broker& run(std::function<void()> fn);

  // Runs the script on a background thread. Once only.
  void start();

  // Waits until the script finished (every step done), failed, or `timeout`
  // passed. True when it finished with no failure. False at once when
  // start() was not called.
  bool wait_done(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  // Human-readable, e.g. "step 3: expected SUBSCRIBE, got PUBLISH (d0, q1,
  // r0, m1), 't', ... (3 bytes)". Empty while nothing failed; at most one
  // entry today (the script stops at its first failure).
  std::vector<std::string> failures() const;
  // Every packet received so far, all connections, in arrival order.
  std::vector<packet> received() const;
  std::size_t connections_accepted() const;
  // Several lines for assertion messages (INFO(b.report())): where the script
  // is (step n of m, finished, failed), the failures, the packets received.
  std::string report() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mqtt_test
