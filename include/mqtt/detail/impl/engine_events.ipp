#pragma once

// The incoming buffer: events go to the faces' callbacks and the async
// operations' handlers, in order, on the executor, with no lock held.

#include <mqtt/protocol/topic_rules.hpp>

#include <ostream>

namespace mqtt {
inline namespace v1 {
namespace detail {

template <class Slot, class... Args>
void call_slot(const Slot& slot, Args&&... args)
{
    if (auto* fn = slot.loop_target()) (*fn)(std::forward<Args>(args)...);
}

inline const char* level_name(log_level level)
{
    switch (level) {
    case log_level::info: return "info";
    case log_level::notice: return "notice";
    case log_level::warning: return "warning";
    case log_level::err: return "error";
    case log_level::debug: return "debug";
    }
    return "log";
}

// Severity order for the logger's threshold: paho's level values are bit flags.
inline int severity(log_level level)
{
    switch (level) {
    case log_level::debug: return 0;
    case log_level::info: return 1;
    case log_level::notice: return 2;
    case log_level::warning: return 3;
    case log_level::err: return 4;
    }
    return 4;
}

MQTT_CLIENT_DECL void engine::log(log_level level, std::string text)
{
    if (log_wanted()) events_.emplace_back(session::log_line{level, std::move(text)});
}

// Executor: whether anyone reads log lines. Two loads and no lock, so the
// data path asks per read or write batch whether to trace packets.
MQTT_CLIENT_DECL bool engine::log_wanted() const
{
    return logger_on_.load(std::memory_order_relaxed) || on_log.loop_target() != nullptr;
}

MQTT_CLIENT_DECL void engine::write_log_line(log_level level, const std::string& text)
{
    std::lock_guard<std::mutex> lock(logger_mutex_);
    if (logger_ && severity(level) >= severity(logger_min_level_))
        *logger_ << "mqtt [" << level_name(level) << "] " << client_id_ << ": " << text << '\n';
}

// Per-filter callbacks first, then on_message; a message no callback takes
// waits for async_receive (async_client), or is dropped as paho does.
MQTT_CLIENT_DECL void engine::deliver(message& m)
{
    bool matched = false;
    if (const auto* routes = router.loop_view()) {
        for (const auto& route : *routes) {
            if (route.fn && protocol::topic_matches(route.filter, m.topic)) {
                matched = true;
                route.fn(m);
            }
        }
    }
    if (matched) return;
    if (const auto* fn = on_message.loop_target()) return (*fn)(m);
    op_ptr waiting;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!receive_enabled_ || shut_down_) return;
        if (receive_ops_.empty()) {
            received_.push_back(std::move(m));
            // Full: stop reading until async_receive makes room; the broker waits.
            if (received_.size() >= max_receive_queue_) reading_paused_ = true;
            return;
        }
        waiting = std::move(receive_ops_.front());
        receive_ops_.pop_front();
    }
    op_result r;
    r.msg = std::move(m);
    finish(std::move(waiting), std::move(r), false);
}

// Delivers the incoming buffer, in order. A face that owns its io_context
// stops as soon as that is stopped, leaving the rest for the next run.
MQTT_CLIENT_DECL void engine::dispatch_events()
{
    if (dispatching_) return;
    dispatching_ = true;
    while (!events_.empty() && !(owned_io_ && owned_io_->stopped())) {
        event ev = std::move(events_.front());
        events_.pop_front();
        invoke(ev);
    }
    dispatching_ = false;
}

MQTT_CLIENT_DECL void engine::invoke(event& ev)
{
    try {
        if (auto* m = std::get_if<message>(&ev)) {
            deliver(*m);
        } else if (auto* done = std::get_if<op_done>(&ev)) {
            finish(std::move(done->op), std::move(done->result), false);
        } else if (auto* p = std::get_if<publish_done>(&ev)) {
            call_slot(on_publish, p->mid);
        } else if (auto* c = std::get_if<session::connected>(&ev)) {
            call_slot(on_connect, c->session_present, c->return_code);
        } else if (auto* f = std::get_if<connect_failed>(&ev)) {
            call_slot(on_connect_fail, f->reason);
        } else if (auto* d = std::get_if<session::disconnected>(&ev)) {
            call_slot(on_disconnect, d->ec);
        } else if (auto* s = std::get_if<session::subscribed>(&ev)) {
            call_slot(on_subscribe, s->mid, s->granted_qos);
        } else if (auto* u = std::get_if<session::unsubscribed>(&ev)) {
            call_slot(on_unsubscribe, u->mid);
        } else if (auto* line = std::get_if<session::log_line>(&ev)) {
            write_log_line(line->level, line->text);
            call_slot(on_log, line->level, line->text);
        } else if (std::holds_alternative<session::resubscribe_due>(ev)) {
            // on_connect ran before this: what it subscribed is not sent twice.
            {
                std::lock_guard<std::mutex> lock(mutex_);
                session_.resubscribe();
            }
            wake();
        }
    } catch (const std::exception& e) {
        // A throwing callback must not take the executor's thread down with it.
        if (!std::holds_alternative<session::log_line>(ev))
            events_.emplace_front(session::log_line{log_level::err, std::string("callback threw: ") + e.what()});
    } catch (...) {
        if (!std::holds_alternative<session::log_line>(ev))
            events_.emplace_front(session::log_line{log_level::err, "callback threw a non-std exception"});
    }
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
