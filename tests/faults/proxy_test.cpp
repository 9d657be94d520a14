// The fault proxy itself, byte by byte: raw sockets through the proxy to a
// real Mosquitto. A CONNECT is 15 bytes, its CONNACK 4.

#include "fault_test_helpers.hpp"

#include "support/raw_socket.hpp"

using namespace fault_test;
using mqtt_test::bytes;
using mqtt_test::fault_proxy;
using mqtt_test::raw_socket;

namespace {

// CONNECT, MQTT 3.1.1, clean session, keepalive 60 s, a one-letter client id.
bytes connect_packet(std::uint8_t id = 'p')
{
    return {0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 60, 0x00, 0x01, id};
}
const bytes connack_accepted{0x20, 0x02, 0x00, 0x00};

// Connects to `port` (the proxy's, or the broker's) and completes the MQTT handshake.
raw_socket handshake(std::uint16_t port, std::uint8_t id = 'p')
{
    raw_socket s("127.0.0.1", port);
    s.send(connect_packet(id));
    REQUIRE(s.read_exactly(4) == connack_accepted);
    return s;
}

}  // namespace

TEST_CASE("fault_proxy forwards both ways and counts the bytes", "[proxy]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    REQUIRE(proxy.port() != 0);
    REQUIRE(proxy.port() != b.port());

    auto s = handshake(proxy.port());
    s.send({0xc0, 0x00});  // PINGREQ
    CHECK(s.read_exactly(2) == bytes{0xd0, 0x00});
    CHECK(proxy.accepted() == 1);
    CHECK(proxy.open_connections() == 1);
    CHECK(poll_until([&] { return proxy.bytes_to_broker() == 17 && proxy.bytes_to_client() == 6; }));
    CHECK(proxy.cuts() == 0);

    s.close();  // the client's close is passed on and the connection forgotten
    CHECK(poll_until([&] { return proxy.open_connections() == 0; }));
}

TEST_CASE("fault_proxy cut_all closes every open connection and new ones still work", "[proxy]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    auto s1 = handshake(proxy.port(), 'a');
    auto s2 = handshake(proxy.port(), 'b');
    REQUIRE(proxy.open_connections() == 2);

    proxy.cut_all();
    CHECK(proxy.open_connections() == 0);
    CHECK(proxy.cuts() == 2);
    CHECK(s1.wait_for_close(2s));
    CHECK(s2.wait_for_close(2s));

    auto s3 = handshake(proxy.port());
    CHECK(proxy.open_connections() == 1);
}

TEST_CASE("fault_proxy cut_after_bytes forwards exactly n bytes and then closes", "[proxy]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());

    SECTION("broker -> client: 2 of the 4 CONNACK bytes")
    {
        proxy.cut_after_bytes(2, fault_proxy::direction::to_client);
        raw_socket s(proxy.host(), proxy.port());
        s.send(connect_packet());
        bytes got;
        CHECK(s.try_read_exactly(4, got) == raw_socket::read_status::closed);
        CHECK(got == bytes{0x20, 0x02});
        CHECK(proxy.bytes_to_client() == 2);
        CHECK(proxy.bytes_to_broker() == 15);
    }
    SECTION("client -> broker: 5 of the 15 CONNECT bytes; no CONNACK")
    {
        proxy.cut_after_bytes(5, fault_proxy::direction::to_broker);
        raw_socket s(proxy.host(), proxy.port());
        s.send(connect_packet());
        CHECK(s.wait_for_close(2s));
        CHECK(proxy.bytes_to_broker() == 5);
        CHECK(proxy.bytes_to_client() == 0);
    }
    SECTION("either direction: 15 + 1 bytes, so the CONNECT passes and the CONNACK is cut after 1 byte")
    {
        proxy.cut_after_bytes(16);
        raw_socket s(proxy.host(), proxy.port());
        s.send(connect_packet());
        bytes got;
        CHECK(s.try_read_exactly(4, got) == raw_socket::read_status::closed);
        CHECK(got == bytes{0x20});
    }
    SECTION("n = 0 cuts before the next byte")
    {
        proxy.cut_after_bytes(0);
        raw_socket s(proxy.host(), proxy.port());
        s.send(connect_packet());
        CHECK(s.wait_for_close(2s));
        CHECK(proxy.bytes_to_broker() == 0);
    }
    CHECK(proxy.cuts() == 1);
    // One-shot: the next connection is left alone.
    auto again = handshake(proxy.port());
    CHECK(proxy.cuts() == 1);
}

TEST_CASE("fault_proxy cut_randomly is reproducible with a seed and stops after max_cuts", "[proxy]")
{
    mqtt_test::broker b;
    // Three cuts per proxy, each after 1..14 bytes of a 15-byte CONNECT.
    auto cut_points = [&](std::uint32_t seed) {
        fault_proxy proxy(b.port());
        proxy.cut_randomly(seed, 1, 14, 3, fault_proxy::direction::to_broker);
        std::vector<std::size_t> points;
        for (int i = 0; i < 3; ++i) {
            const auto before = proxy.bytes_to_broker();
            raw_socket s(proxy.host(), proxy.port());
            s.send(connect_packet());
            REQUIRE(s.wait_for_close(2s));
            points.push_back(proxy.bytes_to_broker() - before);
        }
        CHECK(proxy.cuts() == 3);
        auto s = handshake(proxy.port());  // max_cuts reached: no more cuts
        CHECK(proxy.cuts() == 3);
        return points;
    };
    const auto first = cut_points(7);
    const auto second = cut_points(7);
    CHECK(first == second);
    for (auto p : first) {
        CHECK(p >= 1);
        CHECK(p <= 14);
    }
}

TEST_CASE("fault_proxy stall holds the bytes and a close until resume", "[proxy]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());

    SECTION("bytes wait until resume")
    {
        raw_socket s(proxy.host(), proxy.port());
        REQUIRE(poll_until([&] { return proxy.open_connections() == 1; }));
        proxy.stall();
        s.send(connect_packet());
        bytes got;
        CHECK(s.try_read_exactly(4, got, 300ms) == raw_socket::read_status::timed_out);
        CHECK(got.empty());
        proxy.resume();
        CHECK(s.read_exactly(4) == connack_accepted);
    }
    SECTION("half-open: the broker's close is not passed on while stalled")
    {
        auto s = handshake(proxy.port(), 'p');
        proxy.stall();
        // Another connection with the same client id, straight to the
        // broker: Mosquitto closes the proxied one at once.
        auto kicker = handshake(b.port(), 'p');
        CHECK_FALSE(s.wait_for_close(700ms));
        CHECK(proxy.open_connections() == 1);
        proxy.resume();
        CHECK(s.wait_for_close(2s));
    }
    SECTION("new connections stall too")
    {
        proxy.stall();
        raw_socket s(proxy.host(), proxy.port());
        s.send(connect_packet());
        bytes got;
        CHECK(s.try_read_exactly(4, got, 300ms) == raw_socket::read_status::timed_out);
        proxy.clear_faults();
        CHECK(s.read_exactly(4) == connack_accepted);
    }
}

TEST_CASE("fault_proxy delay holds each chunk for the given time", "[proxy]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    auto s = handshake(proxy.port());

    // Long enough that the round trip without delay, on a loaded machine
    // with a sanitizer, stays well below it.
    proxy.delay(1s);
    auto start = steady::now();
    s.send({0xc0, 0x00});
    CHECK(s.read_exactly(2) == bytes{0xd0, 0x00});
    const auto delayed = steady::now() - start;
    CHECK(delayed >= 2s);  // 1 s each way
    CHECK(delayed < 5s);

    proxy.delay(0ms);
    start = steady::now();
    s.send({0xc0, 0x00});
    CHECK(s.read_exactly(2) == bytes{0xd0, 0x00});
    CHECK(steady::now() - start < 1s);
}

TEST_CASE("fault_proxy refuse_for accepts and closes new connections for a while", "[proxy]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    auto open = handshake(proxy.port());

    proxy.refuse_for(700ms);
    const auto start = steady::now();
    {
        raw_socket s(proxy.host(), proxy.port());
        CHECK(s.wait_for_close(2s));
    }
    CHECK(proxy.refused() == 1);
    // The open connection is left alone.
    open.send({0xc0, 0x00});
    CHECK(open.read_exactly(2) == bytes{0xd0, 0x00});

    std::this_thread::sleep_until(start + 800ms);
    auto after = handshake(proxy.port());
    CHECK(proxy.refused() == 1);
    CHECK(proxy.accepted() == 3);
}

TEST_CASE("fault_proxy closes the client's connection when the broker is down", "[proxy]")
{
    mqtt_test::broker b;
    fault_proxy proxy(b.port());
    b.stop();
    raw_socket s(proxy.host(), proxy.port());
    CHECK(s.wait_for_close(2s));
    CHECK(poll_until([&] { return proxy.upstream_failures() == 1; }));
    b.start();
    auto after = handshake(proxy.port());
}

TEST_CASE("fault_proxy's destructor closes stalled connections and returns promptly", "[proxy]")
{
    mqtt_test::broker b;
    std::vector<raw_socket> sockets;
    auto proxy = std::make_unique<fault_proxy>(b.port());
    for (int i = 0; i < 3; ++i) sockets.push_back(handshake(proxy->port(), static_cast<std::uint8_t>('a' + i)));
    proxy->stall();
    sockets[0].send({0xc0, 0x00});  // held in the proxy
    const auto start = steady::now();
    proxy.reset();
    CHECK(steady::now() - start < 3s);  // not held up by the stalled connections
    for (auto& s : sockets) CHECK(s.wait_for_close(2s));
}

TEST_CASE("fault_proxy accepts only loopback upstreams", "[proxy]")
{
    CHECK_THROWS_AS(fault_proxy(1883, "192.0.2.1"), std::runtime_error);
    CHECK_THROWS_AS(fault_proxy(1883, "not-an-address"), std::runtime_error);
}
