// Proves the scripted broker (tests/support/scripted_broker.hpp) with raw MQTT
// bytes over a plain TCP socket (tests/support/raw_socket.hpp): no client
// library involved.

#include "support/scripted_broker.hpp"

#include "support/catch.hpp"
#include "support/raw_socket.hpp"

#include <mqtt/protocol/encoder.hpp>
#include <mqtt/protocol/packet.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using mqtt_test::bytes;
using mqtt_test::raw_socket;
using mqtt_test::scripted_broker;
using mqtt_test::to_hex;
using namespace mqtt::protocol;
using namespace std::chrono_literals;

namespace {

bytes encoded(const packet& p) {
  bytes out;
  encode(p, out);
  return out;
}

connect make_connect(const std::string& client_id) {
  connect c;
  c.client_id = client_id;
  c.keepalive = 30;
  return c;
}

const bytes connack_accepted = {0x20, 0x02, 0x00, 0x00};

// Polls `condition` every few ms until it holds or `timeout` passes.
template <class F>
bool eventually(F&& condition, std::chrono::milliseconds timeout = 2s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::string first_failure(const scripted_broker& b) {
  const auto f = b.failures();
  return f.empty() ? std::string("(no failure)") : f.front();
}

}  // namespace

TEST_CASE("scripted broker: CONNECT, CONNACK", "[scripted_broker]") {
  scripted_broker b;
  CHECK(b.host() == "127.0.0.1");
  CHECK(b.port() != 0);
  b.accept().expect(packet{make_connect("sb-1")}).reply(connack{false, connack_code::accepted});
  b.start();

  raw_socket s(b.host(), b.port());
  s.send(encoded(make_connect("sb-1")));
  CHECK(to_hex(s.read_exactly(4)) == to_hex(connack_accepted));

  INFO(b.report());
  REQUIRE(b.wait_done());
  CHECK(b.failures().empty());
  CHECK(b.connections_accepted() == 1);
  const auto got = b.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0] == packet{make_connect("sb-1")});
  CHECK(b.report().find("finished") != std::string::npos);
}

TEST_CASE("scripted broker: a packet of the wrong type fails the step, described", "[scripted_broker]") {
  scripted_broker b;
  b.accept().expect(packet_type::connect).expect(packet_type::subscribe).reply(pingresp{});
  b.start();

  raw_socket s(b.host(), b.port());
  s.send(encoded(make_connect("sb-2")));
  s.send(encoded(publish{"t", "abc", 1, false, false, 1}));

  CHECK_FALSE(b.wait_done());
  CHECK(first_failure(b) == "step 3: expected SUBSCRIBE, got PUBLISH (d0, q1, r0, m1), 't', ... (3 bytes)");
  CHECK(b.failures().size() == 1);
  CHECK(b.received().size() == 2);
  // The script stopped: step 4 (the PINGRESP) never ran, the connection stays open.
  bytes out;
  CHECK(s.try_read_exactly(1, out, 50ms) == raw_socket::read_status::timed_out);
  CHECK(b.report().find("failed") != std::string::npos);
}

TEST_CASE("scripted broker: a check that throws, an exact packet that differs", "[scripted_broker]") {
  SECTION("check") {
    scripted_broker b;
    b.accept().expect(packet_type::publish, [](const packet& p) {
      if (std::get<publish>(p).qos != 2) throw std::runtime_error("want QoS 2");
    });
    b.start();
    raw_socket s(b.host(), b.port());
    s.send(encoded(publish{"a/b", "x", 1, false, false, 7}));
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) ==
          "step 2: expected PUBLISH, got PUBLISH (d0, q1, r0, m7), 'a/b', ... (1 bytes), which failed the check: "
          "want QoS 2");
  }
  SECTION("exact packet, different description") {
    scripted_broker b;
    b.accept().expect(packet{subscribe{1, {{"a", 1}}}});
    b.start();
    raw_socket s(b.host(), b.port());
    s.send(encoded(subscribe{1, {{"a", 0}}}));
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 2: expected SUBSCRIBE (d0, m1) [('a', 1)], got SUBSCRIBE (d0, m1) [('a', 0)]");
  }
  SECTION("exact packet, same description") {
    scripted_broker b;
    b.accept().expect(packet{publish{"t", "abc", 0, false, false, 0}});
    b.start();
    raw_socket s(b.host(), b.port());
    s.send(encoded(publish{"t", "abd", 0, false, false, 0}));
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 2: expected PUBLISH (d0, q0, r0, m0), 't', ... (3 bytes) payload 'abc', got "
                              "PUBLISH (d0, q0, r0, m0), 't', ... (3 bytes) payload 'abd'");
  }
}

TEST_CASE("scripted broker: timeouts and undecodable bytes fail the step", "[scripted_broker]") {
  SECTION("nothing comes") {
    scripted_broker b;
    b.accept().expect(packet_type::connect, {}, 50ms);
    b.start();
    raw_socket s(b.host(), b.port());
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 2: expected CONNECT, got nothing within 50 ms");
  }
  SECTION("no client connects") {
    scripted_broker b;
    b.accept(50ms);
    b.start();
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 1: expected a client connection within 50 ms, none came");
  }
  SECTION("malformed packet") {
    scripted_broker b;
    b.accept().expect(packet_type::pingreq);
    b.start();
    raw_socket s(b.host(), b.port());
    s.send({0xC0, 0x01, 0x00});  // PINGREQ with a remaining length of 1
    CHECK_FALSE(b.wait_done());
    const auto f = first_failure(b);
    CHECK(f.rfind("step 2: expected PINGREQ, got undecodable bytes (", 0) == 0);
    CHECK(f.find("c0 01") != std::string::npos);
  }
  SECTION("the client closes") {
    scripted_broker b;
    b.accept().expect(packet_type::connect);
    b.start();
    {
      raw_socket s(b.host(), b.port());
    }
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 2: expected CONNECT, got the client closed the connection");
  }
  SECTION("no current connection") {
    scripted_broker b;
    b.reply(pingresp{});
    b.start();
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 1: reply PINGRESP, but there is no current connection (accept() it first)");
  }
}

TEST_CASE("scripted broker: expect_silence", "[scripted_broker]") {
  SECTION("passes when the client says nothing") {
    scripted_broker b;
    b.accept().expect_silence(100ms).reply(pingresp{});
    b.start();
    raw_socket s(b.host(), b.port());
    const auto start = std::chrono::steady_clock::now();
    CHECK(to_hex(s.read_exactly(2)) == "d0 00");
    CHECK(std::chrono::steady_clock::now() - start >= 90ms);
    CHECK(b.wait_done());
  }
  SECTION("fails at once on a packet") {
    scripted_broker b;
    b.accept().expect_silence(5s);
    b.start();
    raw_socket s(b.host(), b.port());
    const auto start = std::chrono::steady_clock::now();
    s.send(encoded(pingreq{}));
    CHECK_FALSE(b.wait_done());
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    const auto f = first_failure(b);
    CHECK(f.rfind("step 2: expected silence for 5000 ms, got PINGREQ", 0) == 0);
  }
  SECTION("fails on a close by the client") {
    scripted_broker b;
    b.accept().expect_silence(5s);
    b.start();
    raw_socket s(b.host(), b.port());
    s.close();
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b).rfind("step 2: expected silence for 5000 ms, got the client closed the connection", 0) ==
          0);
  }
}

TEST_CASE("scripted broker: expect_closed", "[scripted_broker]") {
  SECTION("DISCONNECT then close") {
    scripted_broker b;
    b.accept().expect(packet_type::connect).reply(connack{}).expect_closed();
    b.start();
    raw_socket s(b.host(), b.port());
    s.send(encoded(make_connect("sb-closed")));
    CHECK(to_hex(s.read_exactly(4)) == to_hex(connack_accepted));
    s.send(encoded(disconnect{}));
    s.close();
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK(b.received().size() == 2);
  }
  SECTION("another packet before the close fails") {
    scripted_broker b;
    b.accept().expect_closed();
    b.start();
    raw_socket s(b.host(), b.port());
    s.send(encoded(pingreq{}));
    s.close();
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 2: expected the client to close the connection within 5000 ms, got PINGREQ");
  }
  SECTION("the connection stays open") {
    scripted_broker b;
    b.accept().expect_closed(50ms);
    b.start();
    raw_socket s(b.host(), b.port());
    CHECK_FALSE(b.wait_done());
    CHECK(first_failure(b) == "step 2: expected the client to close the connection within 50 ms, it stayed open");
  }
}

TEST_CASE("scripted broker: send_raw sends bytes as they are", "[scripted_broker]") {
  scripted_broker b;
  // A CONNACK with reserved flag bits set, then half a SUBACK.
  b.accept().send_raw({0x20, 0x02, 0xFE, 0x00}).send_raw({0x90, 0x05, 0x00});
  b.start();
  raw_socket s(b.host(), b.port());
  CHECK(to_hex(s.read_exactly(7)) == "20 02 fe 00 90 05 00");
  CHECK(b.wait_done());
}

TEST_CASE("scripted broker: reply made from the last packet", "[scripted_broker]") {
  scripted_broker b;
  b.accept()
      .expect(packet_type::publish)
      .reply([](const packet& last) { return packet{puback{std::get<publish>(last).packet_id}}; })
      .expect(packet_type::subscribe)
      .reply([](const packet& last) {
        const auto& sub = std::get<subscribe>(last);
        // One return code too many: what a real broker never sends.
        return packet{suback{sub.packet_id, std::vector<std::uint8_t>(sub.subscriptions.size() + 1, 0)}};
      });
  b.start();
  raw_socket s(b.host(), b.port());
  s.send(encoded(publish{"t", "x", 1, false, false, 0x1234}));
  CHECK(to_hex(s.read_exactly(4)) == "40 02 12 34");
  s.send(encoded(subscribe{9, {{"a", 1}}}));
  CHECK(to_hex(s.read_exactly(6)) == "90 04 00 09 00 00");
  CHECK(b.wait_done());
}

TEST_CASE("scripted broker: two connections in sequence", "[scripted_broker]") {
  std::atomic<bool> first_closed{false};
  scripted_broker b;
  b.accept()
      .expect(packet_type::connect)
      .reply(connack{false, connack_code::accepted})
      .close()
      .run([&] { first_closed = true; })
      .accept()
      .expect(packet_type::connect, [](const packet& p) {
        if (std::get<connect>(p).client_id != "second") throw std::runtime_error("wrong client id");
      })
      .reply(connack{true, connack_code::accepted});
  b.start();

  raw_socket first(b.host(), b.port());
  first.send(encoded(make_connect("first")));
  CHECK(to_hex(first.read_exactly(4)) == to_hex(connack_accepted));
  CHECK(first.wait_for_close(2s));
  CHECK(eventually([&] { return first_closed.load(); }));  // run() comes right after close()

  raw_socket second(b.host(), b.port());
  second.send(encoded(make_connect("second")));
  CHECK(to_hex(second.read_exactly(4)) == "20 02 01 00");

  INFO(b.report());
  CHECK(b.wait_done());
  CHECK(b.connections_accepted() == 2);
  const auto got = b.received();
  REQUIRE(got.size() == 2);
  CHECK(std::get<connect>(got[0]).client_id == "first");
  CHECK(std::get<connect>(got[1]).client_id == "second");
}

TEST_CASE("scripted broker: reset() makes the client see a reset", "[scripted_broker]") {
  scripted_broker b;
  b.accept().expect(packet_type::pingreq).reset();
  b.start();
  raw_socket s(b.host(), b.port());
  s.send(encoded(pingreq{}));
  CHECK(s.wait_for_close(2s));
  CHECK(b.wait_done());
}

TEST_CASE("scripted broker: after the script, it records but does not answer", "[scripted_broker]") {
  scripted_broker b;
  b.accept().expect(packet_type::connect).reply(connack{});
  b.start();
  raw_socket s(b.host(), b.port());
  s.send(encoded(make_connect("after")));
  CHECK(to_hex(s.read_exactly(4)) == to_hex(connack_accepted));
  REQUIRE(b.wait_done());

  s.send(encoded(pingreq{}));
  CHECK(eventually([&] { return b.received().size() == 2; }));
  bytes out;
  CHECK(s.try_read_exactly(1, out, 50ms) == raw_socket::read_status::timed_out);  // no PINGRESP, still open
}

TEST_CASE("scripted broker: the destructor does not wait for a waiting step", "[scripted_broker]") {
  const auto start = std::chrono::steady_clock::now();
  {
    scripted_broker b;
    b.accept().expect(packet_type::connect, {}, 10s);
    b.start();
    raw_socket s(b.host(), b.port());
    CHECK(eventually([&] { return b.connections_accepted() == 1; }));
  }
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE("scripted broker: the script is fixed once started", "[scripted_broker]") {
  scripted_broker b;
  CHECK_FALSE(b.wait_done(10ms));  // not started: false at once
  b.pause(1ms);
  b.start();
  CHECK_THROWS_AS(b.pause(1ms), std::logic_error);
  CHECK_THROWS_AS(b.start(), std::logic_error);
  CHECK(b.wait_done());
}
