// libFuzzer target for the sans-IO session, mqtt::session::machine.
//
// The input is a program: each step is one opcode byte (taken modulo 32)
// and its argument bytes; a missing byte reads as 0. A step is one of
//   - a packet from the broker: CONNACK (any flags and code), PUBLISH QoS
//     0/1/2, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK (any code count),
//     UNSUBACK, PINGRESP, or a packet only a client sends; packet ids are
//     biased to the ids the session holds or wrote lately,
//   - a "well-behaved broker" answer to one operation the session holds,
//   - the user: publish (QoS 0/1/2, small payloads), subscribe and
//     unsubscribe (1-3 filters), disconnect, begin, end, resubscribe,
//     settings within limits,
//   - the link: link_opened (clean session or not, keepalive 0..5 s),
//     link_closed with an error; a close the session requests is honoured
//     at the end of the step, or up to 3 steps later (a setting) during
//     which only what the owner's loop may still do happens: packets
//     already read, ticks, writes,
//   - writes: take_write, then write_done (ok or failed) at once or some
//     steps later; read/write progress; the clock moved by 0..3 s and tick.
// tests/fuzz/make_session_corpus.py writes the seeds and documents the
// opcodes; keep the two in step.
//
// Checked after every step (a failure prints what broke and aborts):
//  1. Packet ids: no id held by two operations, packet_ids_in_use() is the
//     number of ids for_each_packet_id visits, every held id went out on the
//     wire with that operation, and inflight()/awaiting_acks() match.
//  2. Completions: a publish token completes at most once, with its mid,
//     successfully only on its ack (QoS 1 PUBACK, QoS 2 PUBCOMP after
//     PUBREC) or its write (QoS 0); a refused publish never completes; at
//     the end (end() and close) every accepted publish completed once.
//  3. Memory bounds, as the code guarantees them (see check_bounds).
//  4. Exceptions are not caught: libFuzzer reports one as a crash.
//  5. Writes: the chunks of a write stay readable and unchanged until
//     write_done (compared byte by byte; recycled buffers are scribbled on
//     and reused for new publishes, as the client does), each chunk
//     decodes as whole, valid packets, and the packets obey the protocol:
//     CONNECT first and once per connection, nothing but DISCONNECT before
//     CONNACK, nothing after DISCONNECT, QoS>0 PUBLISH ids unique among
//     live operations, DUP only on a resend, a resend only on a new
//     connection, no PUBLISH resent after its PUBREC, acks only for what
//     the broker sent, PINGREQ only with a keepalive.
//
// Debug a reproducer with SESSION_FUZZ_TRACE=1 in the environment: every
// step is printed.

#include <mqtt/error.hpp>
#include <mqtt/protocol/decoder.hpp>
#include <mqtt/protocol/describe.hpp>
#include <mqtt/protocol/encoder.hpp>
#include <mqtt/session/machine.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace proto = mqtt::protocol;
namespace ses = mqtt::session;
using mqtt::errc;
using namespace std::chrono_literals;

// ---- the token: an index into the fuzzer's table of publishes ------------------

// Move-only, and a moved-from token says so (-1): a completion that carries
// one means the session moved a token out twice.
struct token {
    int op = -1;
    token() = default;
    explicit token(int i) : op(i) {}
    token(token&& o) noexcept : op(std::exchange(o.op, -1)) {}
    token& operator=(token&& o) noexcept
    {
        op = std::exchange(o.op, -1);
        return *this;
    }
    token(const token&) = delete;
    token& operator=(const token&) = delete;
};

using machine = ses::machine<token>;
using time_point = machine::time_point;

bool trace_enabled()
{
    static const bool on = std::getenv("SESSION_FUZZ_TRACE") != nullptr;
    return on;
}

std::size_t g_step = 0;

void trace(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void trace(const char* fmt, ...)
{
    if (!trace_enabled()) return;
    std::fprintf(stderr, "[%zu] ", g_step);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
}

[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void fail(const char* fmt, ...)
{
    std::fprintf(stderr, "session_fuzz: step %zu: ", g_step);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
    std::abort();
}

#define CHECK(cond, ...)                  \
    do {                                  \
        if (!(cond)) fail(__VA_ARGS__);   \
    } while (0)

// ---- the input ---------------------------------------------------------------------

struct input {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t at = 0;
    bool done() const { return at >= size; }
    std::uint8_t u8() { return at < size ? data[at++] : 0; }
    std::uint16_t u16()
    {
        const auto hi = u8();
        return static_cast<std::uint16_t>((hi << 8) | u8());
    }
};

// Opcodes: the input byte modulo 32; the frequent ones own several values,
// from the one named here. make_session_corpus.py uses the same numbers.
enum opcode : std::uint8_t {
    op_broker_packet = 0,  // 0..3
    op_broker_answer = 4,  // 4..6
    op_write = 7,  // 7..9: take_write, then done ok / failed / left under way
    op_write_done = 10,
    op_publish = 11,  // 11..13
    op_subscribe = 14,  // 14..15
    op_unsubscribe = 16,
    op_tick = 17,  // 17..18
    op_link_opened = 19,  // 19..20
    op_link_closed = 21,
    op_disconnect = 22,
    op_begin = 23,
    op_end = 24,
    op_resubscribe = 25,
    op_settings = 26,
    op_progress = 27,
    op_pump = 28,  // 28..29: take_write and write_done ok
    op_advance = 30,  // 30..31: begin, link_opened or pump, whichever comes next
};

opcode opcode_of(std::uint8_t b)
{
    static constexpr opcode table[32] = {
        op_broker_packet, op_broker_packet, op_broker_packet, op_broker_packet, op_broker_answer, op_broker_answer,
        op_broker_answer, op_write,         op_write,         op_write,         op_write_done,    op_publish,
        op_publish,       op_publish,       op_subscribe,     op_subscribe,     op_unsubscribe,   op_tick,
        op_tick,          op_link_opened,   op_link_opened,   op_link_closed,   op_disconnect,    op_begin,
        op_end,           op_resubscribe,   op_settings,      op_progress,      op_pump,          op_pump,
        op_advance,       op_advance,
    };
    return table[b % 32];
}

// What the owner's loop may still do before it acts on a close request:
// feed packets it has read already, run timers, finish or start writes.
bool loop_side(opcode op)
{
    switch (op) {
    case op_broker_packet:
    case op_broker_answer:
    case op_write:
    case op_write_done:
    case op_tick:
    case op_progress:
    case op_pump: return true;
    default: return false;
    }
}

constexpr std::array<const char*, 4> publish_topics{"a", "a/b", "t/1", "x"};
constexpr std::array<const char*, 8> filters{"a", "a/b", "a/#", "+/b", "#", "t/1", "$SYS/#", "x"};

std::error_code some_error(std::uint8_t b)
{
    switch (b % 5) {
    case 0: return make_error_code(std::errc::connection_reset);
    case 1: return make_error_code(std::errc::broken_pipe);
    case 2: return make_error_code(std::errc::operation_canceled);
    case 3: return make_error_code(errc::connection_lost);
    default: return make_error_code(std::errc::timed_out);
    }
}

// ---- the fuzzer's model ------------------------------------------------------------

// One publish the user asked for.
struct publish_op {
    int mid = 0;
    std::uint8_t qos = 0;
    bool retain = false;
    std::string topic;
    std::string payload;
    bool accepted = false;
    bool completed = false;
    int sends = 0;  // times seen on the wire
    std::uint16_t wire_id = 0;  // QoS 1/2: the id it went out with
    std::uint64_t last_link = 0;  // the connection it last went out on
    bool pubrec_seen = false;  // QoS 2: the session took a PUBREC for it
    bool in_write = false;  // QoS 0: in the write under way
};

// One SUBSCRIBE / UNSUBSCRIBE, the user's or the session's own.
struct request_rec {
    bool subscribe = true;
    bool automatic = false;
    std::vector<proto::subscription> topics;  // the user's; empty for automatic ones
    std::size_t bytes = 0;  // its share of queued_bytes() while queued
    bool in_queue = true;
    bool acked = false;
};

// A packet id the session holds, as seen on the wire.
struct holder {
    int mid = 0;
    int op = -1;  // publish_op index, or -1 for a request
    proto::byte_buffer bytes;  // a request's packet: a resend must be identical
    std::size_t topics = 0;
    bool subscribe = false;
    std::uint64_t last_link = 0;
};

struct pending_write {
    std::vector<ses::chunk> chunks;
    std::vector<proto::byte_buffer> copies;
    std::vector<bool> publish_chunk;  // the chunk is one PUBLISH (its DUP bit may flip, see compare_write)
    std::uint64_t link = 0;
    int age = 0;
};

// What the current step does (for the bounds), and in what context events
// come (for the completions): a write_done inside a pump step, say.
enum class action {
    none,
    receive,
    write_ok,
    write_failed,
    publish,
    subscribe,
    unsubscribe,
    resubscribe,
    other,
};

struct snapshot {
    std::size_t queued, queued_bytes, inflight, inbound, user_in_queue;
    std::size_t publish_bytes_in_queue;
};

class session_fuzz {
public:
    explicit session_fuzz(input in) : in_(in)
    {
        auto& c = s_.config();
        c.max_inflight = 3;
        c.max_queued = 10;
        c.max_queued_bytes = 0;
        c.policy = mqtt::queue_policy::reject;
        c.reconnect = true;
        c.resubscribe = true;
        c.max_inbound_qos2 = 5;
        c.disconnect_timeout = 1000ms;
        c.logging = false;
    }

    void run()
    {
        constexpr std::size_t max_steps = 4096;
        while (!in_.done() && g_step < max_steps) {
            ++g_step;
            step();
        }
        ++g_step;
        finish();
    }

private:
    // ---- one step --------------------------------------------------------------------

    void step()
    {
        begin_step();
        const opcode op = opcode_of(in_.u8());
        if (s_.close_requested() && !loop_side(op)) {
            honour_close();
            begin_step();  // the action's own baseline
        }
        switch (op) {
        case op_broker_packet: broker_packet(); break;
        case op_broker_answer: broker_answer(in_.u8()); break;
        case op_write: write_step(in_.u8()); break;
        case op_write_done: finish_write(in_.u8() & 1 ? some_error(in_.u8()) : std::error_code{}); break;
        case op_publish: user_publish(); break;
        case op_subscribe: user_subscribe(); break;
        case op_unsubscribe: user_unsubscribe(); break;
        case op_tick: tick(std::chrono::milliseconds(in_.u8() * 12)); break;
        case op_link_opened: open_link(in_.u8()); break;
        case op_link_closed: lose_link(some_error(in_.u8())); break;
        case op_disconnect: user_disconnect(); break;
        case op_begin:
            trace("begin");
            s_.begin();
            break;
        case op_end: {
            const auto ec = some_error(in_.u8());
            trace("end(%s)", ec.message().c_str());
            s_.end(ec);
            break;
        }
        case op_resubscribe: user_resubscribe(); break;
        case op_settings: change_settings(in_.u8(), in_.u8()); break;
        case op_progress: progress(in_.u8()); break;
        case op_pump: pump(); break;
        case op_advance: advance(in_.u8()); break;
        }
        after_step();
    }

    void begin_step()
    {
        before_ = take_snapshot();
        before_link_state_ = s_.state();
        delivered_this_step_ = false;
        step_ = act_ = action::none;
        accepted_ = false;
        packets_written_ = 0;
        extra_logs_ = 0;
    }

    void after_step()
    {
        drain();
        // A write is not left under way for ever: the owner's socket completes it.
        if (write_ && ++write_->age > 64) finish_write(make_error_code(std::errc::operation_canceled));
        take_recycled();
        if (!s_.close_requested())
            close_pending_steps_ = 0;
        else if (close_pending_steps_++ >= close_delay_)
            honour_close();
        forget_if_ended();
        sync_holders();
        check_ids();
        check_bounds();
        check_inbound_qos2();
        check_state();
    }

    // ---- the broker ------------------------------------------------------------------

    std::uint16_t pick_id(std::uint8_t b)
    {
        switch (b % 4) {
        case 0:
        case 1: {
            const auto ids = session_ids();
            if (!ids.empty()) {
                auto it = ids.begin();
                std::advance(it, (b >> 2) % ids.size());
                return it->first;
            }
            [[fallthrough]];
        }
        case 2:
            if (!recent_ids_.empty()) return recent_ids_[(b >> 2) % recent_ids_.size()];
            [[fallthrough]];
        default: {
            const std::uint16_t id = in_.u16();
            return id == 0 ? 1 : id;
        }
        }
    }

    std::uint16_t pick_inbound_id(std::uint8_t b)
    {
        if ((b & 3) == 0 && !inbound_ids_.empty()) return inbound_ids_[(b >> 2) % inbound_ids_.size()];
        if ((b & 3) == 1 && !inbound2_.empty()) {
            auto it = inbound2_.begin();
            std::advance(it, (b >> 2) % inbound2_.size());
            return *it;
        }
        if ((b & 3) == 2) return static_cast<std::uint16_t>(1 + (b >> 2) % 12);
        const std::uint16_t id = in_.u16();
        return id == 0 ? 1 : id;
    }

    void broker_packet()
    {
        const std::uint8_t kind = in_.u8();
        switch (kind % 12) {
        case 0: {
            const std::uint8_t flags = in_.u8();
            const std::uint8_t c = in_.u8();
            const std::uint8_t code = c < 128 ? 0 : c < 224 ? c % 6 : c;
            return receive(proto::connack{(flags & 1) != 0, static_cast<proto::connack_code>(code)});
        }
        case 1:
        case 2: {
            const std::uint8_t b = in_.u8();
            proto::publish p;
            p.qos = static_cast<std::uint8_t>((b & 3) % 3);
            p.dup = (b & 4) != 0 && p.qos > 0;
            p.retain = (b & 8) != 0;
            p.topic = publish_topics[(b >> 4) % publish_topics.size()];
            if (p.qos > 0) {
                p.packet_id = pick_inbound_id(in_.u8());
                remember(inbound_ids_, p.packet_id);
            }
            const std::size_t n = in_.u8() % 8;
            for (std::size_t i = 0; i < n; ++i) p.payload.push_back(static_cast<char>(in_.u8()));
            return receive(std::move(p));
        }
        case 3: return receive(proto::puback{pick_id(in_.u8())});
        case 4: return receive(proto::pubrec{pick_id(in_.u8())});
        case 5: return receive(proto::pubrel{pick_inbound_id(in_.u8())});
        case 6: return receive(proto::pubcomp{pick_id(in_.u8())});
        case 7: {
            proto::suback p;
            p.packet_id = pick_id(in_.u8());
            const std::size_t n = in_.u8() % 5;
            static constexpr std::uint8_t codes[] = {0, 1, 2, proto::suback_failure};
            for (std::size_t i = 0; i < n; ++i) p.return_codes.push_back(codes[in_.u8() % 4]);
            return receive(std::move(p));
        }
        case 8: return receive(proto::unsuback{pick_id(in_.u8())});
        case 9: return receive(proto::pingresp{});
        case 10:
            switch (in_.u8() % 5) {
            case 0: return receive(proto::connect{});
            case 1: return receive(proto::subscribe{1, {{"a", 0}}});
            case 2: return receive(proto::unsubscribe{1, {"a"}});
            case 3: return receive(proto::pingreq{});
            default: return receive(proto::disconnect{});
            }
        default: return broker_answer(in_.u8());
        }
    }

    // What a well-behaved broker would send next for one held operation.
    void broker_answer(std::uint8_t b)
    {
        if (s_.state() == ses::link_state::connecting && link_.connect_written && !link_.connack_sent)
            return receive(proto::connack{!link_.connect.clean_session && (b & 1) != 0,
                                          proto::connack_code::accepted});
        if ((b & 0xC0) == 0xC0 && !inbound2_.empty()) {
            auto it = inbound2_.begin();
            std::advance(it, b % inbound2_.size());
            return receive(proto::pubrel{*it});
        }
        const auto ids = session_ids();
        if (ids.empty()) return receive(proto::pingresp{});
        auto it = ids.begin();
        std::advance(it, b % ids.size());
        const auto h = holders_.find(it->first);
        CHECK(h != holders_.end(), "session id %u has no holder", unsigned(it->first));
        if (h->second.op >= 0) {
            const publish_op& o = ops_[static_cast<std::size_t>(h->second.op)];
            if (o.qos == 1) return receive(proto::puback{it->first});
            if (!o.pubrec_seen) return receive(proto::pubrec{it->first});
            return receive(proto::pubcomp{it->first});
        }
        if (!h->second.subscribe) return receive(proto::unsuback{it->first});
        proto::suback p;
        p.packet_id = it->first;
        for (std::size_t i = 0; i < h->second.topics; ++i)
            p.return_codes.push_back((b & 0x80) != 0 && i == 0 ? proto::suback_failure : std::uint8_t(i % 3));
        return receive(std::move(p));
    }

    void receive(proto::packet p)
    {
        step_ = act_ = action::receive;
        received_ = p;
        const auto state = s_.state();
        const bool closing = s_.close_requested();
        const bool processed =
            !closing && (state == ses::link_state::up || state == ses::link_state::disconnecting);
        trace("receive %s (state %d)", proto::describe(p).c_str(), int(state));
        if (!link_open_) return;  // no connection, nothing can arrive
        // Acks the session may owe on this connection (an upper bound).
        if (auto* pub = std::get_if<proto::publish>(&p); pub && !closing && state == ses::link_state::up) {
            if (pub->qos == 1) ++link_.owed_puback[pub->packet_id];
            if (pub->qos == 2) ++link_.owed_pubrec[pub->packet_id];
        }
        if (auto* rel = std::get_if<proto::pubrel>(&p); rel && processed) ++link_.owed_pubcomp[rel->packet_id];
        if (auto* rec = std::get_if<proto::pubrec>(&p); rec && processed) {
            const auto h = holders_.find(rec->packet_id);
            if (h != holders_.end() && h->second.op >= 0) {
                publish_op& o = ops_[static_cast<std::size_t>(h->second.op)];
                if (o.qos == 2 && !o.completed) o.pubrec_seen = true;
            }
        }
        if (std::holds_alternative<proto::connack>(p)) link_.connack_sent = true;
        if (auto* extra = std::get_if<proto::suback>(&p)) extra_logs_ = extra->return_codes.size();
        s_.received(p, now_);
    }

    // ---- the user ----------------------------------------------------------------------

    void user_publish()
    {
        const std::uint8_t b = in_.u8();
        const std::uint8_t e = in_.u8();
        // Mostly small; now and then over 127 bytes (a two-byte remaining length).
        const std::size_t extra = e < 240 ? e % 24 : 120 + (e - 240) * 16u;
        publish_op o;
        o.qos = static_cast<std::uint8_t>((b & 3) % 3);
        o.retain = (b & 4) != 0;
        o.topic = publish_topics[(b >> 3) % publish_topics.size()];
        const auto index = static_cast<std::uint32_t>(ops_.size());
        for (int shift = 24; shift >= 0; shift -= 8) o.payload.push_back(static_cast<char>((index >> shift) & 0xff));
        o.payload.append(extra, 'p');
        // Reuse a recycled buffer, as the client does.
        proto::byte_buffer bytes;
        if (!pool_.empty()) {
            bytes = std::move(pool_.back());
            pool_.pop_back();
            bytes.clear();
        }
        proto::encode_publish(o.topic, o.payload, o.qos, o.retain, false, o.qos > 0 ? 1 : 0, bytes);
        const bool open = s_.accepts_requests();
        step_ = act_ = action::publish;
        ops_.push_back(std::move(o));
        std::vector<token> dropped;
        const auto r = s_.publish(std::move(bytes), ops_.back().qos, token(static_cast<int>(index)), dropped);
        publish_op& op = ops_[index];
        trace("publish op %u qos %u: %s mid %d, %zu dropped", index, unsigned(op.qos),
              r.ec ? r.ec.message().c_str() : "ok", r.mid, dropped.size());
        for (auto& t : dropped) {
            CHECK(t.op >= 0 && std::size_t(t.op) < ops_.size(), "dropped token %d is not a publish", t.op);
            publish_op& d = ops_[static_cast<std::size_t>(t.op)];
            CHECK(d.accepted && !d.completed, "dropped op %d was not live", t.op);
            CHECK(d.sends == 0, "dropped op %d had been written already", t.op);
            CHECK(s_.config().policy == mqtt::queue_policy::drop_oldest, "a drop under the reject policy");
            d.completed = true;
        }
        if (r.ec) {
            CHECK(r.ec == errc::queue_full || r.ec == errc::not_connected, "publish: unexpected error %s",
                  r.ec.message().c_str());
            CHECK((r.ec == errc::not_connected) == !open, "publish: not_connected iff no requests accepted");
            return;
        }
        CHECK(open, "publish accepted while the session accepts no requests");
        CHECK(r.mid == last_mid_ + 1, "publish mid %d, expected %d", r.mid, last_mid_ + 1);
        last_mid_ = r.mid;
        op.mid = r.mid;
        op.accepted = true;
        accepted_ = true;
    }

    std::optional<int> add_request(bool subscribe, std::vector<proto::subscription> topics, machine::result r)
    {
        if (r.ec) {
            CHECK(r.ec == errc::queue_full || r.ec == errc::not_connected, "%s: unexpected error %s",
                  subscribe ? "subscribe" : "unsubscribe", r.ec.message().c_str());
            return std::nullopt;
        }
        CHECK(r.mid == last_mid_ + 1, "request mid %d, expected %d", r.mid, last_mid_ + 1);
        last_mid_ = r.mid;
        CHECK(s_.queued() == before_.queued + 1, "an accepted request did not queue one entry");
        request_rec rec;
        rec.subscribe = subscribe;
        rec.topics = std::move(topics);
        rec.bytes = s_.queued_bytes() - before_.queued_bytes;
        requests_[r.mid] = std::move(rec);
        accepted_ = true;
        return r.mid;
    }

    void user_subscribe()
    {
        const std::size_t n = 1 + in_.u8() % 3;
        std::vector<proto::subscription> topics;
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t b = in_.u8();
            topics.push_back({filters[b % filters.size()], static_cast<std::uint8_t>((b >> 3) % 3)});
        }
        step_ = act_ = action::subscribe;
        const auto r = s_.subscribe(topics);
        trace("subscribe %zu filter(s): %s mid %d", n, r.ec ? r.ec.message().c_str() : "ok", r.mid);
        add_request(true, std::move(topics), r);
    }

    void user_unsubscribe()
    {
        const std::size_t n = 1 + in_.u8() % 3;
        std::vector<std::string> names;
        std::vector<proto::subscription> topics;
        for (std::size_t i = 0; i < n; ++i) {
            names.push_back(filters[in_.u8() % filters.size()]);
            topics.push_back({names.back(), 0});
        }
        step_ = act_ = action::unsubscribe;
        const auto r = s_.unsubscribe(names);
        trace("unsubscribe %zu filter(s): %s mid %d", n, r.ec ? r.ec.message().c_str() : "ok", r.mid);
        add_request(false, std::move(topics), r);
    }

    void user_resubscribe()
    {
        step_ = act_ = action::resubscribe;
        s_.resubscribe();
        trace("resubscribe: %zu -> %zu queued", before_.queued, s_.queued());
        if (s_.queued() == before_.queued) return;
        CHECK(s_.queued() == before_.queued + 1, "resubscribe queued more than one request");
        CHECK(s_.state() == ses::link_state::up && s_.config().resubscribe, "resubscribe queued while it may not");
        request_rec rec;
        rec.automatic = true;
        rec.bytes = s_.queued_bytes() - before_.queued_bytes;
        requests_[++last_mid_] = std::move(rec);
    }

    void user_disconnect()
    {
        const auto was = s_.state();
        const auto ec = s_.disconnect(now_);
        trace("disconnect: %s (state %d -> %d)", ec ? ec.message().c_str() : "ok", int(was), int(s_.state()));
        CHECK((ec == errc::not_connected) == (was == ses::link_state::idle), "disconnect: wrong result");
        if (ec) CHECK(ec == errc::not_connected, "disconnect: unexpected error %s", ec.message().c_str());
        if (was == ses::link_state::connecting || was == ses::link_state::up)
            disconnect_deadline_ = now_ + s_.config().disconnect_timeout;
    }

    void change_settings(std::uint8_t which, std::uint8_t v)
    {
        auto& c = s_.config();
        switch (which % 10) {
        case 0: c.max_inflight = 1 + v % 5; break;
        case 1: c.max_queued = v % 51; break;
        case 2: {
            static constexpr std::size_t sizes[] = {0, 16, 40, 64, 100, 256, 1024, 4096};
            c.max_queued_bytes = sizes[v % 8];
            break;
        }
        case 3: c.policy = v & 1 ? mqtt::queue_policy::drop_oldest : mqtt::queue_policy::reject; break;
        case 4: c.reconnect = (v & 1) != 0; break;
        case 5: c.resubscribe = (v & 1) != 0; break;
        case 6: c.max_inbound_qos2 = 1 + v % 10; break;
        case 7: c.disconnect_timeout = std::chrono::milliseconds(v * 20); break;
        case 8: c.logging = (v & 1) != 0; break;
        default: close_delay_ = v % 4; break;
        }
        trace("settings: inflight %zu queued %zu bytes %zu policy %d reconnect %d resub %d inbound %zu timeout %lld "
              "logging %d",
              c.max_inflight, c.max_queued, c.max_queued_bytes, int(c.policy), int(c.reconnect), int(c.resubscribe),
              c.max_inbound_qos2, static_cast<long long>(c.disconnect_timeout.count()), int(c.logging));
        trace("close delay %d step(s)", close_delay_);
    }

    // ---- the link --------------------------------------------------------------------

    void open_link(std::uint8_t b)
    {
        if (link_open_ || s_.state() != ses::link_state::down) return;
        proto::connect c;
        c.client_id = "fz";
        c.clean_session = (b & 1) != 0;
        c.keepalive = static_cast<std::uint16_t>((b >> 1) % 6);
        trace("link_opened clean %d keepalive %u", int(c.clean_session), unsigned(c.keepalive));
        s_.link_opened(c, now_);
        CHECK(s_.state() == ses::link_state::connecting, "link_opened did not start connecting");
        link_open_ = true;
        link_ = link_model{};
        link_.id = ++link_count_;
        link_.connect = c;
    }

    void lose_link(std::error_code ec)
    {
        if (!link_open_) return;
        trace("link_closed(%s)", ec.message().c_str());
        act_ = action::other;
        close_pending_steps_ = 0;
        s_.take_close_request();
        s_.link_closed(ec, now_);
        link_open_ = false;
        disconnect_deadline_.reset();
        CHECK(s_.state() == ses::link_state::down || s_.state() == ses::link_state::idle,
              "after link_closed the state is %d", int(s_.state()));
        forget_if_ended();
    }

    void honour_close()
    {
        close_pending_steps_ = 0;
        const auto ec = s_.take_close_request();
        trace("close requested: %s", ec->message().c_str());
        CHECK(link_open_, "the session asked to close a connection that is not open");
        drain();  // what came with the request, before the close's own events
        act_ = action::other;
        link_open_ = false;
        s_.link_closed(*ec ? *ec : make_error_code(std::errc::connection_aborted), now_);
        disconnect_deadline_.reset();
        CHECK(s_.state() == ses::link_state::down || s_.state() == ses::link_state::idle,
              "after link_closed the state is %d", int(s_.state()));
        drain();
        forget_if_ended();
    }

    void progress(std::uint8_t b)
    {
        if (b & 1)
            s_.read_progress(now_);
        else
            s_.write_progress(now_);
    }

    void tick(std::chrono::milliseconds d)
    {
        now_ += d;
        const auto due = s_.deadline();
        const bool pending = s_.close_requested();
        trace("tick +%lldms", static_cast<long long>(d.count()));
        s_.tick(now_);
        if (pending) return;
        if (s_.close_requested()) {
            CHECK(due && now_ >= *due, "tick closed the connection before the deadline() it gave");
            return;
        }
        // disconnect() never waits longer than its timeout plus the grace for a stuck write.
        if (disconnect_deadline_ &&
            (s_.state() == ses::link_state::disconnecting || s_.state() == ses::link_state::closing))
            CHECK(now_ < *disconnect_deadline_ + machine::goodbye_grace,
                  "disconnect() still waits %lldms after its deadline and the grace",
                  static_cast<long long>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(now_ - *disconnect_deadline_).count()));
    }

    void advance(std::uint8_t b)
    {
        switch (s_.state()) {
        case ses::link_state::idle:
            trace("begin");
            s_.begin();
            return;
        case ses::link_state::down:
            if (!link_open_) return open_link(b);
            return;
        default: pump(); return;
        }
    }

    // ---- writes ------------------------------------------------------------------------

    void write_step(std::uint8_t mode)
    {
        if (!take_write()) return;
        switch (mode % 4) {
        case 0:
        case 1: finish_write({}); break;
        case 2: finish_write(some_error(mode >> 2)); break;
        default: break;  // left under way
        }
    }

    void pump()
    {
        if (write_) finish_write({});
        if (take_write()) finish_write({});
    }

    bool take_write()
    {
        sync_holders();  // ids freed since the last step may be handed out again
        std::vector<ses::chunk> chunks;
        const bool had_write = write_.has_value();
        if (!s_.take_write(chunks, now_)) {
            CHECK(chunks.empty(), "take_write returned false with chunks");
            return false;
        }
        CHECK(!had_write, "take_write gave a second write while one is under way");
        CHECK(link_open_, "take_write gave bytes with no connection");
        CHECK(!chunks.empty(), "take_write returned true without chunks");
        CHECK(s_.writing(), "take_write returned true but writing() is false");
        pending_write w;
        w.link = link_.id;
        const auto ids = session_ids();
        for (const auto& c : chunks) {
            CHECK(c.data != nullptr && c.size > 0, "an empty chunk");
            w.copies.emplace_back(c.data, c.data + c.size);
            w.publish_chunk.push_back(false);
        }
        w.chunks = std::move(chunks);
        for (std::size_t i = 0; i < w.copies.size(); ++i) w.publish_chunk[i] = check_chunk(w.copies[i], ids);
        trace("take_write: %zu chunk(s), %zu packet(s)", w.chunks.size(), packets_written_);
        write_ = std::move(w);
        return true;
    }

    void finish_write(std::error_code ec)
    {
        if (!write_) return;
        compare_write(*write_);
        act_ = ec ? action::write_failed : action::write_ok;
        trace("write_done(%s)", ec ? ec.message().c_str() : "ok");
        s_.write_done(ec, now_);
        CHECK(!s_.writing(), "writing() after write_done");
        drain();  // the QoS 0 completions belong to this write
        for (auto& o : ops_) o.in_write = false;
        write_.reset();
        act_ = action::other;
    }

    // The bytes of a write are the ones take_write gave, until write_done.
    // One exception: a CONNACK on a *newer* connection sets the DUP bit of
    // the PUBLISHes it resends, in place, also when an older connection's
    // write that holds them is still to complete (possible only if the
    // owner opens the next connection before the aborted write's handler
    // ran). That write goes to a closed socket, so the change is harmless.
    void compare_write(const pending_write& w)
    {
        for (std::size_t i = 0; i < w.chunks.size(); ++i) {
            const auto& c = w.chunks[i];
            const auto& copy = w.copies[i];
            for (std::size_t j = 0; j < c.size; ++j) {
                if (c.data[j] == copy[j]) continue;
                if (j == 0 && w.publish_chunk[i] && w.link != link_.id && (c.data[0] ^ copy[0]) == 0x08) continue;
                fail("write chunk %zu byte %zu changed under the write: 0x%02x, was 0x%02x", i, j,
                     unsigned(c.data[j]), unsigned(copy[j]));
            }
        }
    }

    // One chunk of a write: whole packets, decoded and checked against the model.
    // Returns whether the chunk is one PUBLISH.
    bool check_chunk(const proto::byte_buffer& bytes, const std::map<std::uint16_t, int>& ids)
    {
        proto::decoder d;
        const std::uint8_t* p = bytes.data();
        std::size_t left = bytes.size();
        std::size_t count = 0;
        bool saw_publish = false;
        while (left > 0) {
            std::optional<proto::packet> out;
            std::error_code ec;
            const std::size_t used = d.feed(p, left, out, ec);
            CHECK(!ec, "the session wrote a malformed packet: %s", ec.message().c_str());
            CHECK(used <= left, "decoder overrun");
            p += used;
            left -= used;
            CHECK(out.has_value(), "a chunk ends inside a packet");
            ++count;
            saw_publish = saw_publish || std::holds_alternative<proto::publish>(*out);
            check_wire_packet(*out, ids);
        }
        return count == 1 && saw_publish;
    }

    void check_wire_packet(const proto::packet& p, const std::map<std::uint16_t, int>& ids)
    {
        ++packets_written_;
        CHECK(!link_.disconnect_written, "%s written after DISCONNECT", proto::describe(p).c_str());
        if (auto* c = std::get_if<proto::connect>(&p)) {
            CHECK(!link_.connect_written, "a second CONNECT on one connection");
            CHECK(*c == link_.connect, "CONNECT differs from the one given to link_opened");
            link_.connect_written = true;
            return;
        }
        CHECK(link_.connect_written, "%s before CONNECT", proto::describe(p).c_str());
        if (std::holds_alternative<proto::disconnect>(p)) {
            link_.disconnect_written = true;
            return;
        }
        CHECK(link_.up, "%s before the connection was accepted", proto::describe(p).c_str());
        std::visit([&](const auto& packet) { on_wire(packet, ids); }, p);
    }

    void on_wire(const proto::publish& p, const std::map<std::uint16_t, int>& ids)
    {
        CHECK(p.payload.size() >= 4, "a PUBLISH the user did not make");
        std::uint32_t index = 0;
        for (int i = 0; i < 4; ++i) index = (index << 8) | static_cast<std::uint8_t>(p.payload[std::size_t(i)]);
        CHECK(index < ops_.size(), "a PUBLISH for no op (%u)", index);
        publish_op& o = ops_[index];
        CHECK(o.accepted, "op %u was refused but is written", index);
        CHECK(!o.completed, "op %u is written after it completed", index);
        CHECK(p.topic == o.topic && p.payload == o.payload && p.qos == o.qos && p.retain == o.retain,
              "op %u is written with other content", index);
        if (o.qos == 0) {
            CHECK(o.sends == 0 && !p.dup, "QoS 0 op %u written twice or with DUP", index);
            o.sends = 1;
            o.in_write = true;
            return;
        }
        CHECK(!o.pubrec_seen, "QoS 2 op %u: PUBLISH resent after its PUBREC", index);
        const auto id = ids.find(p.packet_id);
        CHECK(id != ids.end() && id->second == o.mid, "op %u went out with id %u, which the session holds for %d",
              index, unsigned(p.packet_id), id == ids.end() ? 0 : id->second);
        auto h = holders_.find(p.packet_id);
        if (o.sends == 0) {
            CHECK(!p.dup, "op %u: DUP on its first send", index);
            CHECK(h == holders_.end(), "op %u got id %u, still held by mid %d", index, unsigned(p.packet_id),
                  h == holders_.end() ? 0 : h->second.mid);
            holder n;
            n.mid = o.mid;
            n.op = static_cast<int>(index);
            holders_[p.packet_id] = std::move(n);
            o.wire_id = p.packet_id;
            remember(recent_ids_, p.packet_id);
        } else {
            CHECK(p.dup, "op %u: resent without DUP", index);
            CHECK(p.packet_id == o.wire_id, "op %u: resent with id %u, first sent with %u", index,
                  unsigned(p.packet_id), unsigned(o.wire_id));
            CHECK(o.last_link != link_.id, "op %u: written twice on one connection", index);
            CHECK(h != holders_.end() && h->second.op == static_cast<int>(index), "op %u: its id lost its holder",
                  index);
        }
        ++o.sends;
        o.last_link = link_.id;
    }

    template <class Packet>
    void on_request_wire(const Packet& p, bool subscribe, std::size_t topics, const std::map<std::uint16_t, int>& ids)
    {
        const auto id = ids.find(p.packet_id);
        CHECK(id != ids.end(), "%s with id %u, which the session does not hold",
              subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", unsigned(p.packet_id));
        const int mid = id->second;
        const auto r = requests_.find(mid);
        CHECK(r != requests_.end() && r->second.subscribe == subscribe, "a request on the wire for no request (mid %d)",
              mid);
        proto::byte_buffer bytes;
        proto::encode(p, bytes);
        auto h = holders_.find(p.packet_id);
        if (r->second.in_queue) {
            CHECK(h == holders_.end(), "request mid %d got id %u, still held by mid %d", mid, unsigned(p.packet_id),
                  h == holders_.end() ? 0 : h->second.mid);
            r->second.in_queue = false;
            holder n;
            n.mid = mid;
            n.bytes = std::move(bytes);
            n.topics = topics;
            n.subscribe = subscribe;
            n.last_link = link_.id;
            holders_[p.packet_id] = std::move(n);
            remember(recent_ids_, p.packet_id);
        } else {
            CHECK(h != holders_.end() && h->second.mid == mid, "request mid %d resent without its id", mid);
            CHECK(h->second.bytes == bytes, "request mid %d resent with other content", mid);
            CHECK(h->second.last_link != link_.id, "request mid %d written twice on one connection", mid);
            h->second.last_link = link_.id;
        }
    }

    void on_wire(const proto::subscribe& p, const std::map<std::uint16_t, int>& ids)
    {
        const auto id = ids.find(p.packet_id);
        if (id != ids.end()) {
            const auto r = requests_.find(id->second);
            if (r != requests_.end() && !r->second.automatic)
                CHECK(p.subscriptions == r->second.topics, "SUBSCRIBE mid %d differs from the user's", id->second);
        }
        on_request_wire(p, true, p.subscriptions.size(), ids);
    }

    void on_wire(const proto::unsubscribe& p, const std::map<std::uint16_t, int>& ids)
    {
        const auto id = ids.find(p.packet_id);
        if (id != ids.end()) {
            const auto r = requests_.find(id->second);
            if (r != requests_.end()) {
                CHECK(p.filters.size() == r->second.topics.size(), "UNSUBSCRIBE differs from the user's");
                for (std::size_t i = 0; i < p.filters.size(); ++i)
                    CHECK(p.filters[i] == r->second.topics[i].filter, "UNSUBSCRIBE differs from the user's");
            }
        }
        on_request_wire(p, false, p.filters.size(), ids);
    }

    void on_wire(const proto::pubrel& p, const std::map<std::uint16_t, int>&)
    {
        const bool known = std::any_of(ops_.begin(), ops_.end(), [&](const publish_op& o) {
            return o.qos == 2 && o.pubrec_seen && o.wire_id == p.packet_id;
        });
        CHECK(known, "PUBREL %u for no QoS 2 publish that got a PUBREC", unsigned(p.packet_id));
    }

    static void owe(std::map<std::uint16_t, int>& owed, std::uint16_t id, const char* what)
    {
        auto it = owed.find(id);
        CHECK(it != owed.end() && it->second > 0, "%s %u for nothing the broker sent on this connection", what,
              unsigned(id));
        if (--it->second == 0) owed.erase(it);
    }

    void on_wire(const proto::puback& p, const std::map<std::uint16_t, int>&)
    {
        owe(link_.owed_puback, p.packet_id, "PUBACK");
    }
    void on_wire(const proto::pubrec& p, const std::map<std::uint16_t, int>&)
    {
        owe(link_.owed_pubrec, p.packet_id, "PUBREC");
    }
    void on_wire(const proto::pubcomp& p, const std::map<std::uint16_t, int>&)
    {
        owe(link_.owed_pubcomp, p.packet_id, "PUBCOMP");
    }
    void on_wire(const proto::pingreq&, const std::map<std::uint16_t, int>&)
    {
        CHECK(link_.connect.keepalive != 0, "PINGREQ with keepalive 0");
    }
    template <class Other>
    void on_wire(const Other& p, const std::map<std::uint16_t, int>&)
    {
        fail("the session wrote a packet only a broker sends: %s", proto::describe(proto::packet{p}).c_str());
    }

    // ---- events ------------------------------------------------------------------------

    void drain()
    {
        std::size_t live = 0;
        for (const auto& o : ops_) live += o.accepted && !o.completed;
        std::size_t events = 0, logs = 0;
        machine::event_type e;
        while (s_.poll(e)) {
            if (std::holds_alternative<ses::log_line>(e)) {
                CHECK(s_.config().logging, "a log line with logging off");
                ++logs;
            } else {
                ++events;
            }
            std::visit([&](auto& ev) { on_event(ev); }, e);
        }
        // A step completes each live publish at most once and adds a few events of its own
        // (connected, resubscribe_due, disconnected, message, subscribed...).
        CHECK(events <= live + 3, "%zu events for %zu live publishes", events, live);
        CHECK(logs <= packets_written_ + extra_logs_ + 6, "%zu log lines (%zu packets written)", logs,
              packets_written_);
        CHECK(!s_.has_events(), "events left after poll");
    }

    void on_event(ses::published<token>& e)
    {
        const int i = e.token.op;
        CHECK(i >= 0 && std::size_t(i) < ops_.size(), "a completion with an empty or foreign token (%d)", i);
        publish_op& o = ops_[std::size_t(i)];
        trace("  published op %d mid %d: %s", i, e.mid, e.ec ? e.ec.message().c_str() : "ok");
        CHECK(o.accepted, "op %d completes but was refused", i);
        CHECK(!o.completed, "op %d completes twice", i);
        CHECK(e.mid == o.mid, "op %d completes with mid %d, has %d", i, e.mid, o.mid);
        o.completed = true;
        if (o.qos == 0) {
            if (!e.ec) CHECK(act_ == action::write_ok && o.in_write, "QoS 0 op %d completes without its write", i);
            if (act_ == action::write_failed)
                CHECK(o.in_write && e.ec == errc::connection_lost, "a failed write fails op %d wrongly", i);
            return;
        }
        if (e.ec) return;
        const auto* ack = act_ == action::receive ? &received_ : nullptr;
        if (o.qos == 1) {
            const auto* p = ack ? std::get_if<proto::puback>(ack) : nullptr;
            CHECK(p && p->packet_id == o.wire_id && o.sends > 0, "QoS 1 op %d completes without its PUBACK", i);
        } else {
            const auto* p = ack ? std::get_if<proto::pubcomp>(ack) : nullptr;
            CHECK(p && p->packet_id == o.wire_id && o.pubrec_seen, "QoS 2 op %d completes without PUBREC+PUBCOMP", i);
        }
    }

    void on_event(mqtt::message& m)
    {
        trace("  message %s qos %d id %d", m.topic.c_str(), m.qos, m.mid);
        const auto* p = act_ == action::receive ? std::get_if<proto::publish>(&received_) : nullptr;
        CHECK(p != nullptr, "a message without a PUBLISH");
        CHECK(before_state_up(), "a message delivered while not up");
        CHECK(m.topic == p->topic && m.payload == p->payload && m.qos == p->qos && m.retain == p->retain &&
                  m.dup == p->dup && m.mid == p->packet_id,
              "the message differs from its PUBLISH");
        CHECK(!delivered_this_step_, "two messages from one PUBLISH");
        delivered_this_step_ = true;
        if (m.qos == 2) {
            CHECK(inbound2_.insert(static_cast<std::uint16_t>(m.mid)).second,
                  "QoS 2 id %d delivered twice before its PUBREL", m.mid);
        }
    }

    void on_event(ses::connected& e)
    {
        const auto* p = act_ == action::receive ? std::get_if<proto::connack>(&received_) : nullptr;
        CHECK(p && int(p->return_code) == e.return_code && p->session_present == e.session_present,
              "connected without its CONNACK");
        trace("  connected rc %d sp %d", e.return_code, int(e.session_present));
    }

    void on_event(ses::subscribed& e)
    {
        const auto* p = act_ == action::receive ? std::get_if<proto::suback>(&received_) : nullptr;
        CHECK(p != nullptr, "subscribed without a SUBACK");
        const auto h = holders_.find(p->packet_id);
        CHECK(h != holders_.end() && h->second.mid == e.mid, "subscribed mid %d for another id", e.mid);
        auto r = requests_.find(e.mid);
        CHECK(r != requests_.end() && r->second.subscribe && !r->second.acked, "subscribed for no pending SUBSCRIBE");
        r->second.acked = true;
        CHECK(e.granted_qos.size() == h->second.topics, "subscribed with %zu codes for %zu filters",
              e.granted_qos.size(), h->second.topics);
        if (r->second.automatic)
            CHECK(std::count(e.granted_qos.begin(), e.granted_qos.end(), int(proto::suback_failure)) > 0,
                  "a granted resubscription reported to the user");
    }

    void on_event(ses::unsubscribed& e)
    {
        const auto* p = act_ == action::receive ? std::get_if<proto::unsuback>(&received_) : nullptr;
        CHECK(p != nullptr, "unsubscribed without an UNSUBACK");
        const auto h = holders_.find(p->packet_id);
        CHECK(h != holders_.end() && h->second.mid == e.mid, "unsubscribed mid %d for another id", e.mid);
        auto r = requests_.find(e.mid);
        CHECK(r != requests_.end() && !r->second.subscribe && !r->second.acked, "unsubscribed for no UNSUBSCRIBE");
        r->second.acked = true;
    }

    void on_event(ses::resubscribe_due&) { trace("  resubscribe_due"); }
    void on_event(ses::disconnected& e) { trace("  disconnected %s", e.ec ? e.ec.message().c_str() : "ok"); }
    void on_event(ses::log_line& e) { trace("  log %s", e.text.c_str()); }

    bool before_state_up() const { return before_link_state_ == ses::link_state::up; }

    // ---- invariants ----------------------------------------------------------------------

    std::map<std::uint16_t, int> session_ids() const
    {
        std::map<std::uint16_t, int> ids;
        s_.for_each_packet_id([&](std::uint16_t id, int mid) {
            CHECK(id != 0, "an operation holds packet id 0");
            CHECK(ids.emplace(id, mid).second, "packet id %u held twice (mids %d and %d)", unsigned(id), ids[id], mid);
        });
        return ids;
    }

    // Drops the model's holders of ids the session let go, after checking it was allowed to.
    void sync_holders()
    {
        const auto ids = session_ids();
        for (auto it = holders_.begin(); it != holders_.end();) {
            const auto s = ids.find(it->first);
            const bool held = s != ids.end() && s->second == it->second.mid;
            if (it->second.op >= 0) {
                const publish_op& o = ops_[std::size_t(it->second.op)];
                CHECK(held != o.completed, "op %d (mid %d) %s id %u", it->second.op, o.mid,
                      o.completed ? "completed but still holds" : "is live but lost", unsigned(it->first));
            }
            if (held) {
                ++it;
            } else {
                it = holders_.erase(it);
            }
        }
    }

    void check_ids()
    {
        const auto ids = session_ids();
        CHECK(ids.size() == s_.packet_ids_in_use(), "packet_ids_in_use() %zu, but %zu ids visited",
              s_.packet_ids_in_use(), ids.size());
        std::size_t publishes = 0;
        for (const auto& [id, mid] : ids) {
            const auto h = holders_.find(id);
            CHECK(h != holders_.end() && h->second.mid == mid, "id %u (mid %d) held but never written", unsigned(id),
                  mid);
            publishes += h->second.op >= 0;
        }
        CHECK(publishes == s_.inflight(), "inflight() %zu, but %zu publishes hold ids", s_.inflight(), publishes);
        CHECK(ids.size() - publishes == s_.awaiting_acks(), "awaiting_acks() %zu, but %zu requests hold ids",
              s_.awaiting_acks(), ids.size() - publishes);
    }

    snapshot take_snapshot() const
    {
        snapshot n{};
        n.queued = s_.queued();
        n.queued_bytes = s_.queued_bytes();
        n.inflight = s_.inflight();
        n.inbound = s_.inbound_qos2();
        std::size_t autos = 0, request_bytes = 0;
        for (const auto& [mid, r] : requests_)
            if (r.in_queue) {
                autos += r.automatic;
                request_bytes += r.bytes;
            }
        CHECK(autos <= n.queued, "more automatic requests queued than queued()");
        CHECK(request_bytes <= n.queued_bytes, "queued requests have more bytes (%zu) than queued_bytes() (%zu)",
              request_bytes, n.queued_bytes);
        n.user_in_queue = n.queued - autos;
        n.publish_bytes_in_queue = n.queued_bytes - request_bytes;
        return n;
    }

    // The bounds, as the code guarantees them. Settings change at any time
    // and the session never evicts to meet a bound lowered under it, so
    // each bound is asserted on growth: a count that grew in a step is
    // within the bound in force.
    //  - queue count: publish, subscribe and unsubscribe are refused (or,
    //    drop_oldest, make room) at max_queued, so the user's entries never
    //    grow past it. resubscribe() puts its request at the front with no
    //    check, one per call, and a later call adds one only for filters
    //    not pending already: the queue holds at most max_queued plus the
    //    session's own requests.
    //  - queue bytes: only publish checks max_queued_bytes (against all
    //    queued bytes, requests included); SUBSCRIBE/UNSUBSCRIBE are never
    //    refused for bytes. So the publishes' bytes never grow past it.
    //  - inflight(): a PUBLISH enters the window only below max_inflight.
    //  - inbound_qos2(): a new id is refused (protocol error) at the bound.
    void check_bounds()
    {
        const snapshot now = take_snapshot();
        const auto& c = s_.config();
        const bool adds = step_ == action::publish || step_ == action::subscribe || step_ == action::unsubscribe ||
                          step_ == action::resubscribe;
        if (!adds) {
            CHECK(now.queued <= before_.queued && now.queued_bytes <= before_.queued_bytes,
                  "the queue grew (%zu -> %zu entries, %zu -> %zu bytes) without a request", before_.queued, now.queued,
                  before_.queued_bytes, now.queued_bytes);
        }
        if (accepted_ && step_ == action::publish) {
            if (c.max_queued != 0)
                CHECK(now.queued <= c.max_queued, "publish accepted into a queue of %zu > max_queued %zu", now.queued,
                      c.max_queued);
            if (c.max_queued_bytes != 0)
                CHECK(now.queued_bytes <= c.max_queued_bytes, "publish accepted: %zu queued bytes > max %zu",
                      now.queued_bytes, c.max_queued_bytes);
        }
        if (accepted_ && (step_ == action::subscribe || step_ == action::unsubscribe) && c.max_queued != 0)
            CHECK(now.queued <= c.max_queued, "request accepted into a queue of %zu > max_queued %zu", now.queued,
                  c.max_queued);
        if (c.max_queued != 0 && now.user_in_queue > before_.user_in_queue)
            CHECK(now.user_in_queue <= c.max_queued, "%zu user entries queued > max_queued %zu", now.user_in_queue,
                  c.max_queued);
        if (c.max_queued_bytes != 0 && now.publish_bytes_in_queue > before_.publish_bytes_in_queue)
            CHECK(now.publish_bytes_in_queue <= c.max_queued_bytes, "%zu publish bytes queued > max_queued_bytes %zu",
                  now.publish_bytes_in_queue, c.max_queued_bytes);
        if (now.inflight > before_.inflight)
            CHECK(now.inflight <= c.max_inflight, "inflight() grew to %zu > max_inflight %zu", now.inflight,
                  c.max_inflight);
        if (now.inbound > before_.inbound)
            CHECK(now.inbound <= c.max_inbound_qos2, "inbound_qos2() grew to %zu > max %zu", now.inbound,
                  c.max_inbound_qos2);
    }

    // The model's inbound QoS 2 ids follow the session's: ids delivered
    // (added on the message event), one released per PUBREL, or all
    // forgotten at once (clean session, CONNACK without session, end).
    void check_inbound_qos2()
    {
        if (step_ == action::receive) {
            if (const auto* rel = std::get_if<proto::pubrel>(&received_);
                rel && inbound2_.count(rel->packet_id) && s_.inbound_qos2() + 1 == inbound2_.size())
                inbound2_.erase(rel->packet_id);
        }
        if (s_.inbound_qos2() != inbound2_.size()) {
            CHECK(s_.inbound_qos2() == 0, "inbound_qos2() %zu, the model has %zu", s_.inbound_qos2(),
                  inbound2_.size());
            inbound2_.clear();
        }
    }

    void check_state()
    {
        const auto st = s_.state();
        CHECK(!s_.close_requested() || close_pending_steps_ <= close_delay_, "a close request left pending");
        if (link_open_) {
            // end() with the link open leaves idle and asks to close it.
            CHECK(st != ses::link_state::down && (st != ses::link_state::idle || s_.close_requested()),
                  "link open, state %d", int(st));
            if (st == ses::link_state::up) link_.up = true;
        } else {
            CHECK(st == ses::link_state::idle || st == ses::link_state::down, "no link, state %d", int(st));
        }
        if (st == ses::link_state::up && link_.connect.keepalive != 0)
            CHECK(s_.deadline().has_value(), "up with a keepalive but no deadline()");
        if (st == ses::link_state::disconnecting || st == ses::link_state::closing)
            CHECK(s_.deadline().has_value(), "disconnecting with no deadline()");
        if (st == ses::link_state::idle) {
            CHECK(s_.queued() == 0 && s_.queued_bytes() == 0 && s_.inflight() == 0 && s_.awaiting_acks() == 0 &&
                      s_.packet_ids_in_use() == 0 && s_.subscriptions().empty(),
                  "an ended session still holds something");
            for (const auto& o : ops_) CHECK(!o.accepted || o.completed, "ended with a live op");
        }
    }

    // end() emptied the queue and forgot every request. Called after every
    // call that may end the session, before a begin() can follow.
    void forget_if_ended()
    {
        if (s_.state() == ses::link_state::idle) requests_.clear();
    }

    void take_recycled()
    {
        std::vector<proto::byte_buffer> out;
        s_.take_recycled(out);
        for (auto& b : out) {
            // Scribble: a write that still points here would change.
            std::fill(b.begin(), b.end(), std::uint8_t{0xEE});
            if (pool_.size() < 32) pool_.push_back(std::move(b));
        }
    }

    static void remember(std::vector<std::uint16_t>& ring, std::uint16_t id)
    {
        if (std::find(ring.begin(), ring.end(), id) != ring.end()) return;
        if (ring.size() >= 16) ring.erase(ring.begin());
        ring.push_back(id);
    }

    // ---- the end ---------------------------------------------------------------------------

    void finish()
    {
        begin_step();
        step_ = act_ = action::other;
        trace("finish: end(shutdown)");
        s_.end(make_error_code(errc::shutdown));
        drain();
        if (s_.close_requested()) honour_close();
        lose_link(make_error_code(std::errc::connection_aborted));
        finish_write(make_error_code(std::errc::operation_canceled));
        drain();
        take_recycled();
        forget_if_ended();
        sync_holders();
        check_ids();
        check_state();
        CHECK(s_.state() == ses::link_state::idle, "end() left state %d", int(s_.state()));
        CHECK(!s_.writing(), "still writing at the end");
        for (std::size_t i = 0; i < ops_.size(); ++i)
            CHECK(ops_[i].accepted == ops_[i].completed, "op %zu: accepted %d, completed %d", i,
                  int(ops_[i].accepted), int(ops_[i].completed));
        CHECK(holders_.empty(), "ids held after the end");
    }

    // ---- state -------------------------------------------------------------------------------

    struct link_model {
        std::uint64_t id = 0;
        proto::connect connect;
        bool connect_written = false;
        bool connack_sent = false;
        bool up = false;  // CONNACK accepted on this connection
        bool disconnect_written = false;
        std::map<std::uint16_t, int> owed_puback, owed_pubrec, owed_pubcomp;
    };

    input in_;
    machine s_;
    time_point now_ = time_point{} + 1000h;

    std::vector<publish_op> ops_;
    std::map<int, request_rec> requests_;  // by mid
    std::map<std::uint16_t, holder> holders_;  // by wire id
    std::set<std::uint16_t> inbound2_;
    std::vector<std::uint16_t> recent_ids_, inbound_ids_;
    std::vector<proto::byte_buffer> pool_;
    int last_mid_ = 0;

    bool link_open_ = false;
    std::uint64_t link_count_ = 0;
    link_model link_;
    std::optional<pending_write> write_;
    std::optional<time_point> disconnect_deadline_;
    int close_delay_ = 0;  // steps a close request waits for the owner
    int close_pending_steps_ = 0;

    snapshot before_{};
    ses::link_state before_link_state_ = ses::link_state::idle;
    action step_ = action::none;  // what this step does
    action act_ = action::none;  // the context events come in
    bool accepted_ = false;
    bool delivered_this_step_ = false;
    proto::packet received_;
    std::size_t packets_written_ = 0;
    std::size_t extra_logs_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    g_step = 0;
    session_fuzz f(input{data, size});
    f.run();
    return 0;
}
