// One test per error code a user can meet that no other client test produces:
// the CONNACK refusals, a packet the broker must not send, a broker that
// breaks the protocol, bytes that do not decode (the decoder's own codes are
// proven in tests/protocol; here that they reach the user), and a QoS 0
// message caught in a failed write. Against a scripted broker
// (tests/support/scripted_broker.hpp): Mosquitto produces none of these on
// request.

#include "client_test_helpers.hpp"

#include "support/scripted_broker.hpp"

#include <mqtt/protocol/encoder.hpp>

#include <future>
#include <string>
#include <vector>

using namespace client_test;
using mqtt_test::scripted_broker;
using namespace mqtt::protocol;

namespace {

// A CONNACK with any return code, also those MQTT 3.1.1 reserves (6..255).
std::vector<std::uint8_t> connack_bytes(std::uint8_t return_code, bool session_present = false)
{
    return {0x20, 0x02, static_cast<std::uint8_t>(session_present ? 0x01 : 0x00), return_code};
}

struct connect_outcome {
    std::error_code thrown;  // mqtt::error::code() from connect(host, port)
    std::string what;
    std::error_code returned;  // from connect(host, port, keepalive, ec)
    std::vector<int> on_connect_codes;
};

// Both forms of connect() against a broker that answers each CONNECT with
// `answer`; each must fail, and the client must close the connection.
connect_outcome connect_both_ways(const std::vector<std::uint8_t>& answer)
{
    scripted_broker b;
    for (int i = 0; i < 2; ++i) b.accept().expect(packet_type::connect).send_raw(answer).expect_closed();
    b.start();

    connect_outcome r;
    callback_log log;
    mqtt::client c(unique_id("errc"));
    log.attach(c);
    try {
        c.connect(b.host(), b.port());
        FAIL_CHECK("connect() did not throw");
    } catch (const mqtt::error& e) {
        r.thrown = e.code();
        r.what = e.what();
    }
    CHECK_FALSE(c.is_connected());
    c.connect(b.host(), b.port(), 60, r.returned);
    CHECK_FALSE(c.is_connected());
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK(log.disconnects.size() == 0);  // never connected, so never disconnected
    // on_connect saw the return code, once per connect() (it ran on this thread).
    const auto connects = log.connects.items();
    CHECK(connects.size() == 2);
    for (const auto& cr : connects) r.on_connect_codes.push_back(cr.return_code);
    return r;
}

void check_refused(std::uint8_t return_code, mqtt::errc expected)
{
    INFO("CONNACK return code " << int{return_code});
    const auto r = connect_both_ways(connack_bytes(return_code));
    CHECK(r.thrown == expected);
    CHECK(r.returned == expected);
    for (const int code : r.on_connect_codes) CHECK(code == return_code);
    INFO(r.what);
    CHECK(r.what.find(mqtt::make_error_code(expected).message()) != std::string::npos);
}

// The broker's script up to an established connection: CONNECT, CONNACK,
// then a QoS 0 PUBLISH from the client, which it sends once its loop runs -
// so that what the script does next hits an established connection.
void script_connected(scripted_broker& b)
{
    b.accept().expect(packet_type::connect).reply(connack{false, connack_code::accepted});
    b.expect(packet_type::publish);
}

// A client connected to a scripted broker (script_connected), every callback
// recorded, no automatic reconnect: what ended the connection is the last word.
struct connected_client {
    callback_log log;
    mqtt::client client{unique_id("errcon")};

    explicit connected_client(const scripted_broker& b)
    {
        log.attach(client);
        client.reconnect_on_failure_set(false);
        client.connect(b.host(), b.port());
        REQUIRE_FALSE(client.loop_start());
        REQUIRE_FALSE(client.publish("ready", "", 0).rc());
    }
};

}  // namespace

TEST_CASE("CONNACK 1: connect() fails with connection_refused_protocol_version", "[client][errors]")
{
    check_refused(1, mqtt::errc::connection_refused_protocol_version);
}

TEST_CASE("CONNACK 2: connect() fails with connection_refused_identifier_rejected", "[client][errors]")
{
    check_refused(2, mqtt::errc::connection_refused_identifier_rejected);
}

TEST_CASE("CONNACK 3: connect() fails with connection_refused_server_unavailable", "[client][errors]")
{
    check_refused(3, mqtt::errc::connection_refused_server_unavailable);
}

TEST_CASE("CONNACK 4: connect() fails with connection_refused_bad_username_password", "[client][errors]")
{
    check_refused(4, mqtt::errc::connection_refused_bad_username_password);
}

TEST_CASE("CONNACK 5: connect() fails with connection_refused_not_authorized", "[client][errors]")
{
    check_refused(5, mqtt::errc::connection_refused_not_authorized);
}

TEST_CASE("CONNACK 6 and 255 (reserved): connect() fails with connection_refused_unknown_code", "[client][errors]")
{
    const std::uint8_t code = GENERATE(std::uint8_t{6}, std::uint8_t{255});
    check_refused(code, mqtt::errc::connection_refused_unknown_code);
}

TEST_CASE("A packet the broker must not send: errc::unexpected_packet", "[client][errors]")
{
    SECTION("a SUBSCRIBE after CONNACK: on_disconnect(unexpected_packet), the client closes the connection")
    {
        scripted_broker b;
        script_connected(b);
        b.reply(subscribe{1, {{"a/b", 0}}}).expect_closed();
        b.start();
        connected_client c(b);
        REQUIRE(c.log.disconnects.wait_for(1));
        CHECK(c.log.disconnects.at(0) == mqtt::errc::unexpected_packet);
        INFO(b.report());
        CHECK(b.wait_done());
        CHECK_FALSE(c.client.is_connected());
    }
    SECTION("a second CONNACK: on_disconnect(unexpected_packet)")
    {
        scripted_broker b;
        script_connected(b);
        b.reply(connack{false, connack_code::accepted}).expect_closed();
        b.start();
        connected_client c(b);
        REQUIRE(c.log.disconnects.wait_for(1));
        CHECK(c.log.disconnects.at(0) == mqtt::errc::unexpected_packet);
        INFO(b.report());
        CHECK(b.wait_done());
    }
    SECTION("a PINGRESP before CONNACK: connect() fails with unexpected_packet")
    {
        scripted_broker b;
        b.accept().expect(packet_type::connect).reply(pingresp{}).expect_closed();
        b.start();
        callback_log log;
        mqtt::client c(unique_id("errpre"));
        log.attach(c);
        std::error_code ec;
        c.connect(b.host(), b.port(), 60, ec);
        CHECK(ec == mqtt::errc::unexpected_packet);
        CHECK_FALSE(c.is_connected());
        INFO(b.report());
        CHECK(b.wait_done());
        CHECK(log.connects.size() == 0);  // no CONNACK came
    }
}

TEST_CASE("A broker that breaks the protocol: errc::protocol_error", "[client][errors]")
{
    SECTION("session present in the CONNACK to a clean-session CONNECT: connect() fails")
    {
        scripted_broker b;
        b.accept().expect(packet_type::connect).reply(connack{true, connack_code::accepted}).expect_closed();
        b.start();
        mqtt::client c(unique_id("errsp"));  // clean session, the default
        std::error_code ec;
        c.connect(b.host(), b.port(), 60, ec);
        CHECK(ec == mqtt::errc::protocol_error);
        CHECK_FALSE(c.is_connected());
        INFO(b.report());
        CHECK(b.wait_done());
    }
    SECTION("a SUBACK with two return codes for one topic filter: on_disconnect(protocol_error), no on_subscribe")
    {
        scripted_broker b;
        script_connected(b);
        b.expect(packet_type::subscribe).reply([](const packet& last) {
            return packet{suback{std::get<subscribe>(last).packet_id, {0, 0}}};
        });
        b.expect_closed();
        b.start();
        connected_client c(b);
        const auto [rc, mid] = c.client.subscribe("a/b", 0);
        REQUIRE_FALSE(rc);
        REQUIRE(c.log.disconnects.wait_for(1));
        CHECK(c.log.disconnects.at(0) == mqtt::errc::protocol_error);
        INFO(b.report());
        CHECK(b.wait_done());
        CHECK(c.log.subscribed.size() == 0);
    }
}

TEST_CASE("A CONNACK that does not decode: connect() fails with the decoder's errc", "[client][errors]")
{
    scripted_broker b;
    b.accept().expect(packet_type::connect).send_raw({0x20, 0x02, 0xFE, 0x00}).expect_closed();  // reserved flags
    b.start();
    mqtt::client c(unique_id("errflags"));
    std::error_code ec;
    c.connect(b.host(), b.port(), 60, ec);
    CHECK(ec == mqtt::errc::invalid_connack_flags);
    CHECK_FALSE(c.is_connected());
    INFO(b.report());
    CHECK(b.wait_done());
}

TEST_CASE("Bytes that do not decode end the connection: on_disconnect names the decoder's errc", "[client][errors]")
{
    struct malformed {
        std::string what;
        std::vector<std::uint8_t> bytes;
        mqtt::errc expected;
    };
    std::vector<std::uint8_t> too_large;  // for a client that takes packets up to 1 KiB
    encode(publish{"t", std::string(2048, 'x'), 0, false, false, 0}, too_large);
    const auto m = GENERATE_COPY(
        malformed{"a remaining length of five bytes", {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
                  mqtt::errc::malformed_remaining_length},
        malformed{"packet type 15", {0xF0, 0x00}, mqtt::errc::reserved_packet_type},
        malformed{"a SUBACK with return code 3", {0x90, 0x03, 0x00, 0x01, 0x03},
                  mqtt::errc::invalid_suback_return_code},
        malformed{"a PUBLISH over max_packet_size", too_large, mqtt::errc::packet_too_large});
    INFO(m.what);
    scripted_broker b;
    script_connected(b);
    b.send_raw(m.bytes).expect_closed();
    b.start();
    callback_log log;
    mqtt::client c(unique_id("errbytes"));
    log.attach(c);
    c.reconnect_on_failure_set(false);
    c.max_packet_size_set(1024);
    c.connect(b.host(), b.port());
    REQUIRE_FALSE(c.loop_start());
    REQUIRE_FALSE(c.publish("ready", "", 0).rc());
    REQUIRE(log.disconnects.wait_for(1));
    CHECK(log.disconnects.at(0) == m.expected);
    INFO(b.report());
    CHECK(b.wait_done());
    CHECK(log.messages.size() == 0);
    CHECK(log.subscribed.size() == 0);
}

TEST_CASE("A QoS 0 message caught in a failed write completes with errc::connection_lost", "[client][errors]")
{
    // The broker takes CONNECT, answers, then reads nothing more until the
    // client has queued far more than the socket buffers on both sides hold
    // (16 x 1 MiB), so that a write is surely under way; then it resets the
    // connection. The messages of that write fail with connection_lost; with
    // reconnect on (the default), the ones not yet written stay queued for
    // the next connection and complete only at disconnect().
    constexpr std::size_t count = 16;
    const std::string payload(1024 * 1024, 'q');
    std::future<void> go;  // outlives the broker's thread, which waits on it
    scripted_broker b;
    std::promise<void> queued;  // destroyed first: a failed REQUIRE does not keep the broker waiting
    go = queued.get_future();
    b.accept().expect(packet_type::connect).reply(connack{false, connack_code::accepted});
    b.run([&go] {
        if (go.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
            throw std::runtime_error("the client did not publish in time");
    });
    b.reset();
    b.start();

    callback_log log;
    mqtt::client c(unique_id("errq0"));
    log.attach(c);
    c.connect(b.host(), b.port());
    REQUIRE_FALSE(c.loop_start());
    std::vector<mqtt::message_info> infos;
    for (std::size_t i = 0; i < count; ++i) {
        infos.push_back(c.publish("t", payload, 0));
        REQUIRE_FALSE(infos.back().rc());
    }
    queued.set_value();
    REQUIRE(log.disconnects.wait_for(1));
    CHECK(log.disconnects.at(0));  // a failure, not a clean disconnect

    // In order: written before the reset (success), then the write that
    // failed (connection_lost); the first failure ends the look.
    std::size_t written = 0;
    std::error_code first_failure;
    for (auto& info : infos) {
        const auto ec = info.wait_for_publish(wait_timeout);
        if (ec) {
            first_failure = ec;
            break;
        }
        ++written;
    }
    INFO(written << " of " << count << " written before the reset");
    CHECK(first_failure == mqtt::errc::connection_lost);
    CHECK(written < count);
    INFO(b.report());
    CHECK(b.wait_done());
    c.disconnect();
    for (auto& info : infos) CHECK(info.wait_for_publish(0ms) != mqtt::errc::timeout);  // every one completed
}
