// Proves the real-broker fixture (tests/support/broker.hpp) with raw MQTT
// bytes over a plain TCP socket: no client library involved.

#include "support/broker.hpp"
#include "support/catch.hpp"
#include "support/raw_socket.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

using mqtt_test::broker;
using mqtt_test::broker_options;
using mqtt_test::bytes;
using mqtt_test::raw_socket;
using mqtt_test::to_hex;
using namespace std::chrono_literals;

namespace {

// CONNACK, session present 0, return code 0 (accepted).
const bytes connack_accepted = {0x20, 0x02, 0x00, 0x00};

// MQTT 3.1.1 CONNECT, clean session, keepalive 60, client id "fixture-311".
const bytes connect_311 = {
    0x10,                                // CONNECT, flags 0
    0x17,                                // remaining length 23 = 10 + 2 + 11
    0x00, 0x04, 'M', 'Q', 'T', 'T',      // protocol name "MQTT"
    0x04,                                // protocol level 4 (3.1.1)
    0x02,                                // connect flags: clean session
    0x00, 0x3C,                          // keepalive 60 s
    0x00, 0x0B,                          // client id length 11
    'f', 'i', 'x', 't', 'u', 'r', 'e', '-', '3', '1', '1',
};

// Compares bytes received from broker `b`; on failure shows both in hex and
// the broker's log as it is at the time of the check (INFO is eager).
#define BYTES_ASSERT(macro, b, actual, expected)                             \
  do {                                                                       \
    const bytes actual_ = (actual);                                          \
    const bytes expected_ = (expected);                                      \
    INFO("got      " << to_hex(actual_) << "\nexpected " << to_hex(expected_) \
                     << "\nbroker log:\n" << (b).log());                     \
    macro(actual_ == expected_);                                             \
  } while (false)
#define CHECK_BYTES(b, actual, expected) BYTES_ASSERT(CHECK, b, actual, expected)
#define REQUIRE_BYTES(b, actual, expected) BYTES_ASSERT(REQUIRE, b, actual, expected)

// raw_socket::read_exactly, with the broker's log added to its error.
bytes read_reply(raw_socket& s, const broker& b, std::size_t n) {
  try {
    return s.read_exactly(n);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "\nbroker log:\n" + b.log());
  }
}

bytes connect_and_read_connack(const broker& b, const bytes& connect) {
  raw_socket s(b.host(), b.port());
  s.send(connect);
  return read_reply(s, b, 4);
}

}  // namespace

TEST_CASE("broker fixture: MQTT 3.1.1 CONNECT gets CONNACK accepted", "[broker]") {
  broker b;
  CHECK(b.host() == "127.0.0.1");
  CHECK(b.port() != 0);
  CHECK(b.running());

  raw_socket s(b.host(), b.port());
  s.send(connect_311);
  CHECK_BYTES(b, read_reply(s, b, 4), connack_accepted);

  s.send({0xE0, 0x00});  // DISCONNECT: the broker closes the connection
  CHECK(s.wait_for_close(5s));
}

TEST_CASE("broker fixture: MQTT 3.1 (MQIsdp, level 3) CONNECT gets CONNACK accepted", "[broker]") {
  broker b;
  const bytes connect_31 = {
      0x10,                                      // CONNECT, flags 0
      0x17,                                      // remaining length 23 = 12 + 2 + 9
      0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p',  // protocol name "MQIsdp"
      0x03,                                      // protocol level 3 (3.1)
      0x02,                                      // connect flags: clean session
      0x00, 0x3C,                                // keepalive 60 s
      0x00, 0x09,                                // client id length 9 (3.1: 1..23)
      'f', 'i', 'x', 't', 'u', 'r', 'e', '3', '1',
  };
  // 3.1 has no session-present flag: byte 3 is reserved, 0.
  CHECK_BYTES(b, connect_and_read_connack(b, connect_31), connack_accepted);
}

TEST_CASE("broker fixture: password file refuses a wrong password and accepts the right one", "[broker]") {
  broker_options options;
  options.users = {{"alice", "s3cret"}, {"bob", "hunter2"}};
  broker b(options);

  SECTION("right password") {
    const bytes connect = {
        0x10,                                      // CONNECT
        0x1E,                                      // remaining length 30 = 10 + 5 + 7 + 8
        0x00, 0x04, 'M', 'Q', 'T', 'T',            // "MQTT"
        0x04,                                      // level 4
        0xC2,                                      // flags: user name, password, clean session
        0x00, 0x3C,                                // keepalive 60
        0x00, 0x03, 'p', 'w', '1',                 // client id "pw1"
        0x00, 0x05, 'a', 'l', 'i', 'c', 'e',       // user name "alice"
        0x00, 0x06, 's', '3', 'c', 'r', 'e', 't',  // password "s3cret"
    };
    CHECK_BYTES(b, connect_and_read_connack(b, connect), connack_accepted);
  }
  SECTION("wrong password") {
    const bytes connect = {
        0x10,                                      // CONNECT
        0x1E,                                      // remaining length 30 = 10 + 5 + 7 + 8
        0x00, 0x04, 'M', 'Q', 'T', 'T',            // "MQTT"
        0x04,                                      // level 4
        0xC2,                                      // flags: user name, password, clean session
        0x00, 0x3C,                                // keepalive 60
        0x00, 0x03, 'p', 'w', '2',                 // client id "pw2"
        0x00, 0x05, 'a', 'l', 'i', 'c', 'e',       // user name "alice"
        0x00, 0x06, 'w', 'r', 'o', 'n', 'g', '!',  // password "wrong!"
    };
    raw_socket s(b.host(), b.port());
    s.send(connect);
    // Mosquitto 2.0.11 answers a wrong password with return code 5 (not
    // authorized), not 4 (bad user name or password), then closes.
    CHECK_BYTES(b, read_reply(s, b, 4), (bytes{0x20, 0x02, 0x00, 0x05}));
    CHECK(s.wait_for_close(5s));
  }
  SECTION("no credentials: allow_anonymous is false") {
    CHECK_BYTES(b, connect_and_read_connack(b, connect_311), (bytes{0x20, 0x02, 0x00, 0x05}));  // not authorized
  }
}

TEST_CASE("broker fixture: stop() then start() restarts on the same port with the same persistence", "[broker]") {
  broker b;
  const auto port = b.port();
  {
    raw_socket s(b.host(), b.port());
    s.send(connect_311);
    REQUIRE_BYTES(b, read_reply(s, b, 4), connack_accepted);
    s.send({
        0x33,             // PUBLISH, QoS 1, retain
        0x07,             // remaining length 7
        0x00, 0x01, 't',  // topic "t"
        0x00, 0x01,       // packet id 1
        'o', 'n',         // payload "on"
    });
    REQUIRE_BYTES(b, read_reply(s, b, 4), (bytes{0x40, 0x02, 0x00, 0x01}));  // PUBACK id 1: stored
  }

  b.stop();
  CHECK_FALSE(b.running());
  CHECK_THROWS_AS(raw_socket(b.host(), port, 1s), std::runtime_error);  // nobody listens
  b.stop();  // idempotent

  b.start();
  CHECK(b.running());
  CHECK(b.port() == port);

  // The retained message was saved on SIGTERM and reloaded from the same
  // persistence directory.
  raw_socket s(b.host(), b.port());
  s.send(connect_311);
  REQUIRE_BYTES(b, read_reply(s, b, 4), connack_accepted);
  s.send({
      0x82,             // SUBSCRIBE (flags 0010)
      0x06,             // remaining length 6
      0x00, 0x02,       // packet id 2
      0x00, 0x01, 't',  // filter "t"
      0x00,             // requested QoS 0
  });
  CHECK_BYTES(b, read_reply(s, b, 5), (bytes{0x90, 0x03, 0x00, 0x02, 0x00}));  // SUBACK id 2, granted QoS 0
  // PUBLISH QoS 0 retain, remaining length 5, topic "t", payload "on"
  CHECK_BYTES(b, read_reply(s, b, 7), (bytes{0x31, 0x05, 0x00, 0x01, 't', 'o', 'n'}));

  b.start();  // no-op while running
  CHECK(b.running());
}

TEST_CASE("broker fixture: kill() then start() works and loses what was not saved", "[broker]") {
  broker b;
  const auto port = b.port();
  {
    raw_socket s(b.host(), b.port());
    s.send(connect_311);
    REQUIRE_BYTES(b, read_reply(s, b, 4), connack_accepted);
    s.send({0x33, 0x07, 0x00, 0x01, 't', 0x00, 0x01, 'o', 'n'});              // PUBLISH QoS 1 retain "t" "on", id 1
    REQUIRE_BYTES(b, read_reply(s, b, 4), (bytes{0x40, 0x02, 0x00, 0x01}));  // PUBACK id 1

    b.kill();
    CHECK_FALSE(b.running());
    CHECK(s.wait_for_close(5s));  // the open connection dies with the broker
  }

  b.start();
  CHECK(b.running());
  CHECK(b.port() == port);
  raw_socket s(b.host(), b.port());
  s.send(connect_311);
  REQUIRE_BYTES(b, read_reply(s, b, 4), connack_accepted);
  s.send({0x82, 0x06, 0x00, 0x02, 0x00, 0x01, 't', 0x00});                     // SUBSCRIBE id 2 "t" QoS 0
  CHECK_BYTES(b, read_reply(s, b, 5), (bytes{0x90, 0x03, 0x00, 0x02, 0x00}));  // SUBACK id 2 QoS 0
  // SIGKILL: no persistence flush, so no retained message comes back.
  bytes more;
  CHECK(s.try_read_exactly(1, more, 300ms) == raw_socket::read_status::timed_out);
  CHECK(to_hex(more) == "");
}

TEST_CASE("broker fixture: log(), persistence off, cleanup", "[broker]") {
  std::string dir;
  {
    broker_options options;
    options.persistence = false;
    broker b(options);
    dir = b.directory();
    CHECK(std::filesystem::is_directory(dir));
    CHECK_BYTES(b, connect_and_read_connack(b, connect_311), connack_accepted);
    const std::string log = b.log();
    INFO(log);
    CHECK(log.find("New client connected") != std::string::npos);
    CHECK(log.find("fixture-311") != std::string::npos);
    b.stop();
    CHECK_FALSE(std::filesystem::exists(dir + "/mosquitto.db"));
  }
  CHECK_FALSE(std::filesystem::exists(dir));  // the destructor removed the temp dir
}

TEST_CASE("broker fixture: a broker that cannot start throws with its log", "[broker]") {
  broker_options options;
  options.extra_config = {"no_such_option 1"};
  std::string message;
  try {
    broker b(options);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("exited during start-up") != std::string::npos);
  CHECK(message.find("no_such_option") != std::string::npos);  // Mosquitto's own complaint
}
