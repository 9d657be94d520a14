#pragma once

// Drives one session::machine packet by packet, with no socket and a clock
// the test moves by hand. Tokens are ints: the test's own message numbers.

#include <mqtt/protocol/decoder.hpp>
#include <mqtt/protocol/describe.hpp>
#include <mqtt/protocol/encoder.hpp>
#include <mqtt/session/machine.hpp>

#include <support/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace session_test {

using namespace mqtt::protocol;
using mqtt::errc;
using machine = mqtt::session::machine<int>;
using event = machine::event_type;
using mqtt::session::link_state;
using namespace std::chrono_literals;

inline std::vector<packet> decode_chunks(const std::vector<mqtt::session::chunk>& chunks)
{
    byte_buffer all;
    for (const auto& c : chunks) all.insert(all.end(), c.data, c.data + c.size);
    decoder d;
    std::vector<packet> out;
    const std::uint8_t* p = all.data();
    std::size_t left = all.size();
    while (left > 0) {
        std::optional<packet> one;
        std::error_code ec;
        const std::size_t n = d.feed(p, left, one, ec);
        REQUIRE_FALSE(ec);
        p += n;
        left -= n;
        if (one) out.push_back(std::move(*one));
    }
    return out;
}

inline std::string names(const std::vector<packet>& packets)
{
    std::string s;
    for (const auto& p : packets) s += (s.empty() ? "" : " | ") + describe(p);
    return s;
}

struct harness {
    machine s;
    machine::time_point now = machine::time_point{} + 1000h;
    std::vector<int> dropped;
    std::vector<mqtt::session::chunk> chunks;

    explicit harness(bool logging = true) { s.config().logging = logging; }

    // connect() was called and the transport came up: CONNECT is written.
    void open(bool clean_session = true, std::uint16_t keepalive = 60)
    {
        s.begin();
        connect c;
        c.client_id = "c";
        c.clean_session = clean_session;
        c.keepalive = keepalive;
        s.link_opened(c, now);
        const auto out = write();
        REQUIRE(out.size() == 1);
        REQUIRE(std::holds_alternative<connect>(out[0]));
    }

    // open() and an accepted CONNACK; returns what the session wrote next.
    std::vector<packet> up(bool clean_session = true, bool session_present = false, std::uint16_t keepalive = 60)
    {
        open(clean_session, keepalive);
        return connack_and_write(session_present);
    }

    std::vector<packet> connack_and_write(bool session_present = false)
    {
        receive(connack{session_present, connack_code::accepted});
        REQUIRE(s.state() == link_state::up);
        return write();
    }

    // One gather write taken and completed (ec: it failed).
    std::vector<packet> write(std::error_code ec = {})
    {
        if (!s.take_write(chunks, now)) return {};
        auto out = decode_chunks(chunks);
        s.write_done(ec, now);
        return out;
    }

    // Takes the write but leaves it under way.
    std::vector<packet> start_write()
    {
        if (!s.take_write(chunks, now)) return {};
        return decode_chunks(chunks);
    }

    void receive(packet p) { s.received(p, now); }

    // The connection drops (or closes as the session asked).
    void lose(std::error_code ec = make_error_code(std::errc::connection_reset))
    {
        s.take_close_request();
        s.link_closed(ec, now);
    }

    void advance(std::chrono::milliseconds d)
    {
        now += d;
        s.tick(now);
    }

    int publish(std::string topic, std::string payload, std::uint8_t qos, int token = 0)
    {
        byte_buffer bytes;
        encode_publish(topic, payload, qos, false, false, qos > 0 ? 1 : 0, bytes);
        auto r = s.publish(std::move(bytes), qos, token, dropped);
        REQUIRE_FALSE(r.ec);
        return r.mid;
    }

    std::vector<event> events()
    {
        std::vector<event> out;
        event e;
        while (s.poll(e)) out.push_back(std::move(e));
        return out;
    }

    template <class T>
    std::vector<T> events_of()
    {
        std::vector<T> out;
        for (auto& e : events())
            if (auto* x = std::get_if<T>(&e)) out.push_back(std::move(*x));
        return out;
    }
};

template <class T>
std::vector<T> only(const std::vector<packet>& packets)
{
    std::vector<T> out;
    for (const auto& p : packets)
        if (auto* x = std::get_if<T>(&p)) out.push_back(*x);
    return out;
}

inline std::vector<std::string> log_lines(const std::vector<event>& events, mqtt::log_level level)
{
    std::vector<std::string> out;
    for (const auto& e : events)
        if (auto* l = std::get_if<mqtt::session::log_line>(&e))
            if (l->level == level) out.push_back(l->text);
    return out;
}

}  // namespace session_test
