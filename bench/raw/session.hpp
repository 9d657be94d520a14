#pragma once

// A raw MQTT session: a socket that has done the CONNECT/CONNACK handshake,
// and the frame scanner that reads it from then on.

#include "common/options.hpp"
#include "raw/frame_scanner.hpp"
#include "raw/tcp_socket.hpp"
#include "raw/wire.hpp"

#include <string>

namespace bench {

class raw_session {
public:
    raw_session(const options& opts, const std::string& client_id);  // throws bench_error

    // SUBSCRIBE, then waits for its SUBACK. Call before a reader thread starts.
    void subscribe(const std::string& topic, int qos);
    void send_disconnect();

    tcp_socket& socket() { return socket_; }
    wire::frame_scanner& scanner() { return scanner_; }

private:
    // Reads until a frame of `type` arrived (other frames are dropped).
    wire::frame await(wire::packet_type type, const char* what);

    tcp_socket socket_;
    wire::frame_scanner scanner_;
};

}  // namespace bench
