#include "raw/session.hpp"

#include "common/connection.hpp"
#include "common/measure.hpp"

#include <optional>

namespace bench {

raw_session::raw_session(const options& opts, const std::string& client_id) : socket_(opts.host, opts.port)
{
    const auto connect = wire::encode_connect(client_id, 60);
    socket_.send_all(connect.data(), connect.size());
    const auto connack = await(wire::connack, "CONNACK");
    if (connack.head_size < 2 || connack.head[1] != 0)
        throw bench_error("the broker refused the connection (CONNACK code " +
                          std::to_string(connack.head_size < 2 ? -1 : connack.head[1]) + ")");
}

void raw_session::subscribe(const std::string& topic, int qos)
{
    const auto packet = wire::encode_subscribe(1, topic, qos);
    socket_.send_all(packet.data(), packet.size());
    const auto suback = await(wire::suback, "SUBACK");
    if (suback.head_size < 3 || suback.head[2] == 0x80) throw bench_error("the broker refused the subscription");
}

void raw_session::send_disconnect()
{
    const auto& packet = wire::encoded_disconnect();
    socket_.send_all(packet.data(), packet.size());
}

wire::frame raw_session::await(wire::packet_type type, const char* what)
{
    const auto give_up = clock::now() + std::chrono::seconds(5);
    std::uint8_t byte = 0;
    // The frame's head points into the scanner, valid until the next feed.
    std::optional<wire::frame> found;
    while (!found) {
        if (clock::now() >= give_up) throw bench_error(std::string("no ") + what + " within 5 s");
        // One byte at a time: nothing after the awaited frame may be consumed here.
        const std::size_t n = socket_.receive_some(&byte, 1);
        scanner_.feed(&byte, n, [&](const wire::frame& f) {
            if (f.type() == type) found = f;
        });
    }
    return *found;
}

}  // namespace bench
