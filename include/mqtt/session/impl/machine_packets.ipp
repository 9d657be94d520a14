#pragma once

// machine's handling of each packet from the broker: CONNACK, inbound
// PUBLISH (QoS 2 method B) and PUBREL, the acks of what the session sent.
// Included by machine.hpp only.

namespace mqtt {
inline namespace v1 {
namespace session {

template <class Token>
void machine<Token>::on_connack(const protocol::connack& p, time_point now)
{
    if (state_ != link_state::connecting && state_ != link_state::closing)
        return violation(errc::unexpected_packet, "CONNACK on an established connection");
    const auto code = static_cast<std::uint8_t>(p.return_code);
    if (code != 0) {
        events_.emplace_back(connected{p.session_present, code});
        const auto refused = make_error_code(connack_error(code));
        log(log_level::err, "CONNACK refused the connection: " + refused.message());
        close_request_ = refused;
        return;
    }
    if (clean_session_ && p.session_present)
        return violation(errc::protocol_error, "CONNACK says session present after a clean-session CONNECT");
    if (state_ == link_state::closing) return;  // disconnect() came first: DISCONNECT follows
    state_ = link_state::up;
    keepalive_.start(std::chrono::seconds(keepalive_seconds_), now);
    if (!p.session_present) inbound_qos2_.clear();
    // Unacknowledged QoS 1/2 go again: PUBRELs in the order their PUBRECs
    // came, PUBLISHes (DUP) in their first order with their ids [MQTT-4.6.0].
    for (const auto& r : released_) protocol::encode(protocol::pubrel{r.packet_id}, control_);
    for (auto& r : window_) {
        r.bytes[0] |= 0x08;
        r.resend = true;
    }
    for (auto& r : awaiting_) r.resend = true;
    log(log_level::debug, std::string("CONNACK received, session present: ") + (p.session_present ? "yes" : "no"));
    events_.emplace_back(connected{p.session_present, 0});
    if (!p.session_present && had_connection_ && settings_.resubscribe && !subscriptions_.empty())
        events_.emplace_back(resubscribe_due{});
    had_connection_ = true;
}

template <class Token>
void machine<Token>::on_packet(protocol::publish& p)
{
    if (state_ != link_state::up) return;  // disconnecting: a persistent session gets it again later
    const std::uint16_t id = p.packet_id;
    if (p.qos == 2) {
        if (inbound_qos2_.count(id) == 0) {
            if (inbound_qos2_.size() >= settings_.max_inbound_qos2)
                return violation(errc::protocol_error, "more than " + std::to_string(settings_.max_inbound_qos2) +
                                                           " QoS 2 messages awaiting PUBREL");
            inbound_qos2_.insert(id);
            deliver(p);
        }
        protocol::encode(protocol::pubrec{id}, control_);
        return;
    }
    if (p.qos == 1) protocol::encode(protocol::puback{id}, control_);
    deliver(p);
}

template <class Token>
void machine<Token>::deliver(protocol::publish& p)
{
    events_.emplace_back(message{std::move(p.topic), std::move(p.payload), p.qos, p.retain, p.dup, p.packet_id});
}

template <class Token>
void machine<Token>::on_packet(protocol::pubrel& p)
{
    inbound_qos2_.erase(p.packet_id);
    protocol::encode(protocol::pubcomp{p.packet_id}, control_);
}

template <class Token>
void machine<Token>::on_packet(protocol::puback& p)
{
    auto it = find(window_, p.packet_id);
    if (it == window_.end() || it->qos != 1) return unknown_ack("PUBACK", p.packet_id);
    complete(*it);
    window_.erase(it);
}

template <class Token>
void machine<Token>::on_packet(protocol::pubrec& p)
{
    auto it = find(window_, p.packet_id);
    if (it != window_.end() && it->qos == 2) {
        retire(it->bytes);  // delivered: from now on only PUBREL is ever resent
        released_.push_back(std::move(*it));
        window_.erase(it);
    } else if (find(released_, p.packet_id) == released_.end()) {
        return unknown_ack("PUBREC", p.packet_id);
    }
    protocol::encode(protocol::pubrel{p.packet_id}, control_);
}

template <class Token>
void machine<Token>::on_packet(protocol::pubcomp& p)
{
    auto it = find(released_, p.packet_id);
    if (it == released_.end()) return unknown_ack("PUBCOMP", p.packet_id);
    complete(*it);
    released_.erase(it);
}

template <class Token>
void machine<Token>::on_packet(protocol::suback& p)
{
    auto it = find(awaiting_, p.packet_id);
    if (it == awaiting_.end() || it->kind != request_kind::subscribe) return unknown_ack("SUBACK", p.packet_id);
    if (p.return_codes.size() != it->topics.size())
        return violation(errc::protocol_error, "SUBACK has " + std::to_string(p.return_codes.size()) +
                                                   " return codes for " + std::to_string(it->topics.size()) +
                                                   " topic filters");
    bool refused = false;
    for (std::size_t i = 0; i < it->topics.size(); ++i) {
        if (p.return_codes[i] != protocol::suback_failure) continue;
        refused = true;
        subscriptions_.forget(it->topics[i].filter);
        if (it->automatic)
            log(log_level::warning, "the broker refused the resubscription to '" + it->topics[i].filter + "'");
    }
    if (!it->automatic || refused)
        events_.emplace_back(subscribed{it->mid, std::vector<int>(p.return_codes.begin(), p.return_codes.end())});
    ids_.release(it->packet_id);
    retire(it->bytes);
    awaiting_.erase(it);
}

template <class Token>
void machine<Token>::on_packet(protocol::unsuback& p)
{
    auto it = find(awaiting_, p.packet_id);
    if (it == awaiting_.end() || it->kind != request_kind::unsubscribe)
        return unknown_ack("UNSUBACK", p.packet_id);
    events_.emplace_back(unsubscribed{it->mid});
    ids_.release(it->packet_id);
    retire(it->bytes);
    awaiting_.erase(it);
}

}  // namespace session
}  // namespace v1
}  // namespace mqtt
