#pragma once

// The message loop: who runs the io_context, and how callbacks are delivered.

#include <ostream>

namespace mqtt {
inline namespace v1 {

namespace detail {
template <class Slot, class... Args>
void call_slot(const Slot& slot, Args&&... args)
{
    if (auto* fn = slot.loop_target()) (*fn)(std::forward<Args>(args)...);
}
}  // namespace detail

// Coalesces wake-ups: many publishes between two loop turns cost one post.
inline void client::wake()
{
    if (!wake_posted_.exchange(true, std::memory_order_acq_rel))
        asio::post(io_, loop_task{this, &client::on_wake_posted});
}

// Everything public calls ask of the loop arrives here.
inline void client::on_wake_posted(std::uint64_t)
{
    wake_posted_.store(false, std::memory_order_release);
    bool connect_now;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connect_now = std::exchange(connect_requested_, false);
    }
    if (connect_now) start_connect();
    pump();
}

// Waits until done() (evaluated under mutex_) holds. When no loop thread runs,
// the caller runs the io_context itself, so connect() before loop_start() and
// disconnect() after loop_stop() work as in paho.
template <class Pred>
std::error_code client::run_until(Pred done, clock::time_point deadline)
{
    if (loop_id_->on_loop_thread()) return make_error_code(errc::would_deadlock);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done()) {
        if (clock::now() >= deadline) return make_error_code(errc::timeout);
        if (loop_running_ || driving_) {
            // Someone else runs the loop; it notifies on every state change.
            state_cv_.wait_until(lock, std::min(deadline, clock::now() + std::chrono::milliseconds(100)));
            continue;
        }
        driving_ = true;
        lock.unlock();
        loop_id_->driver.store(std::this_thread::get_id(), std::memory_order_release);
        if (io_.stopped()) io_.restart();
        dispatch_events();  // events a stopped loop left behind
        io_.run_one_until(std::min(deadline, clock::now() + std::chrono::milliseconds(100)));
        loop_id_->driver.store(std::thread::id{}, std::memory_order_release);
        lock.lock();
        driving_ = false;
        state_cv_.notify_all();
    }
    return {};
}

inline std::error_code client::loop_start()
{
    // In a callback the loop runs on this very thread (a loop thread, or a
    // caller inside connect/loop/loop_forever): waiting for it would never end.
    if (loop_id_->on_loop_thread()) return make_error_code(errc::loop_already_running);
    std::unique_lock<std::mutex> lock(mutex_);
    if (loop_running_) return make_error_code(errc::loop_already_running);
    state_cv_.wait(lock, [this] { return !driving_; });
    if (thread_.joinable()) {
        // A loop stopped from inside a callback: its thread has ended or is ending.
        std::thread old = std::move(thread_);
        lock.unlock();
        old.join();
        lock.lock();
        if (loop_running_) return make_error_code(errc::loop_already_running);
    }
    loop_running_ = true;
    if (io_.stopped()) io_.restart();
    thread_ = std::thread([this] {
        loop_id_->driver.store(std::this_thread::get_id(), std::memory_order_release);
        asio::post(io_, loop_task{this, &client::on_wake_posted});  // events a stopped loop left behind
        for (;;) {
            try {
                io_.run();
                break;
            } catch (const std::exception& e) {
                // Out of memory in a handler, say: the operation it served is
                // lost, the loop goes on and says why.
                events_.emplace_back(session::log_line{log_level::err, std::string("message loop: ") + e.what()});
                asio::post(io_, loop_task{this, &client::on_wake_posted});
            }
        }
        loop_id_->driver.store(std::thread::id{}, std::memory_order_release);
        std::lock_guard<std::mutex> guard(mutex_);
        loop_running_ = false;
        state_cv_.notify_all();
    });
    return {};
}

inline std::error_code client::loop_stop()
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (!thread_.joinable()) return make_error_code(errc::loop_not_running);
    io_.stop();
    if (thread_.get_id() == std::this_thread::get_id()) return {};  // joined by loop_start or ~client
    std::thread t = std::move(thread_);
    lock.unlock();
    t.join();
    return {};
}

inline std::error_code client::loop_forever()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (loop_running_) return make_error_code(errc::loop_already_running);
        if (!session_.active()) return make_error_code(errc::not_connected);
    }
    // Until the session ends: disconnect(), or a lost connection without
    // automatic reconnect.
    auto ec = run_until([&] { return !session_.active() && !session_.has_events(); },
                        clock::now() + std::chrono::hours(24 * 365 * 10));
    if (ec) return ec;
    std::lock_guard<std::mutex> lock(mutex_);
    return ended_by_;
}

inline std::error_code client::loop(std::chrono::milliseconds timeout)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (loop_running_) return make_error_code(errc::loop_already_running);
    }
    if (loop_id_->on_loop_thread()) return make_error_code(errc::would_deadlock);
    bool first = true;
    // Runs until at least one handler ran or the timeout passed, then what is ready.
    auto ec = run_until([&] { return !std::exchange(first, false); }, clock::now() + timeout);
    if (ec && ec != errc::timeout) return ec;
    return is_connected() ? std::error_code{} : make_error_code(errc::not_connected);
}

inline void client::log(log_level level, std::string text)
{
    if (log_wanted()) events_.emplace_back(session::log_line{level, std::move(text)});
}

namespace detail {
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
}  // namespace detail

inline void client::write_log_line(log_level level, const std::string& text)
{
    std::lock_guard<std::mutex> lock(logger_mutex_);
    if (logger_ && detail::severity(level) >= detail::severity(logger_min_level_))
        *logger_ << "mqtt [" << detail::level_name(level) << "] " << client_id_ << ": " << text << '\n';
}

inline void client::enable_logger(std::ostream& out, log_level min_level)
{
    std::lock_guard<std::mutex> lock(logger_mutex_);
    logger_ = &out;
    logger_min_level_ = min_level;
    logger_on_.store(true, std::memory_order_relaxed);
}

inline void client::disable_logger()
{
    std::lock_guard<std::mutex> lock(logger_mutex_);
    logger_ = nullptr;
    logger_on_.store(false, std::memory_order_relaxed);
}

// Loop thread: whether anyone reads log lines. Two loads and no lock, so the
// data path asks per read or write batch whether to trace packets.
inline bool client::log_wanted() const
{
    return logger_on_.load(std::memory_order_relaxed) || on_log.loop_target() != nullptr;
}

inline void client::message_callback_add(std::string_view filter, std::function<void(client&, const message&)> callback)
{
    if (auto ec = protocol::validate_topic_filter(filter))
        throw error(ec, "message_callback_add: invalid topic filter '" + std::string(filter) + "'");
    router_.add(std::string(filter), std::move(callback));
}

inline bool client::message_callback_remove(std::string_view filter)
{
    return router_.remove(filter);
}

inline void client::deliver(const message& m)
{
    bool matched = false;
    if (const auto* routes = router_.loop_view()) {
        for (const auto& route : *routes) {
            if (route.fn && protocol::topic_matches(route.filter, m.topic)) {
                matched = true;
                route.fn(*this, m);
            }
        }
    }
    if (!matched) detail::call_slot(on_message, *this, m);
}

// Delivers the incoming buffer to the callbacks, in order. Stops as soon as
// the loop is stopped, leaving the rest for the next run: nothing is lost.
inline void client::dispatch_events()
{
    if (dispatching_) return;
    dispatching_ = true;
    while (!events_.empty() && !io_.stopped()) {
        event ev = std::move(events_.front());
        events_.pop_front();
        invoke(ev);
    }
    dispatching_ = false;
}


inline void client::invoke(event& ev)
{
    try {
        std::visit(detail::overloaded{
                       [&](message& m) { deliver(m); },
                       [&](session::connected& e) {
                           detail::call_slot(on_connect, *this, e.session_present, e.return_code);
                       },
                       [&](connect_failed& e) { detail::call_slot(on_connect_fail, *this, e.reason); },
                       [&](session::disconnected& e) { detail::call_slot(on_disconnect, *this, e.ec); },
                       [&](publish_done& e) { detail::call_slot(on_publish, *this, e.mid); },
                       [&](session::subscribed& e) { detail::call_slot(on_subscribe, *this, e.mid, e.granted_qos); },
                       [&](session::unsubscribed& e) { detail::call_slot(on_unsubscribe, *this, e.mid); },
                       [&](session::log_line& e) {
                           write_log_line(e.level, e.text);
                           detail::call_slot(on_log, *this, e.level, e.text);
                       },
                       [&](session::resubscribe_due&) {
                           // on_connect ran before this: what it subscribed is not sent twice.
                           {
                               std::lock_guard<std::mutex> lock(mutex_);
                               session_.resubscribe();
                           }
                           wake();
                       },
                   },
                   ev);
    } catch (const std::exception& e) {
        // A throwing callback must not take the loop thread down with it.
        if (!std::holds_alternative<session::log_line>(ev))
            events_.emplace_front(session::log_line{log_level::err, std::string("callback threw: ") + e.what()});
    } catch (...) {
        if (!std::holds_alternative<session::log_line>(ev))
            events_.emplace_front(session::log_line{log_level::err, "callback threw a non-std exception"});
    }
}

}  // namespace v1
}  // namespace mqtt
