#pragma once

// Who runs the message loop: a loop_start thread, or the caller of a
// blocking call when no thread does.

namespace mqtt {
inline namespace v1 {

// Waits until done() (evaluated under the engine's lock) holds. When no loop
// thread runs, the caller runs the io_context itself, so connect() before
// loop_start() and disconnect() after loop_stop() work as in paho.
template <class Pred>
std::error_code client::run_until(Pred done, clock::time_point deadline)
{
    if (on_loop_thread()) return make_error_code(errc::would_deadlock);
    auto& e = *engine_;
    std::unique_lock<std::mutex> lock(e.mutex_);
    while (!done()) {
        if (clock::now() >= deadline) return make_error_code(errc::timeout);
        if (loop_running_ || driving_) {
            // Someone else runs the loop; it notifies on every state change.
            e.state_cv_.wait_until(lock, std::min(deadline, clock::now() + std::chrono::milliseconds(100)));
            continue;
        }
        driving_ = true;
        lock.unlock();
        e.loop_id_->driver.store(std::this_thread::get_id(), std::memory_order_release);
        if (io_.stopped()) io_.restart();
        e.dispatch_events();  // events a stopped loop left behind
        io_.run_one_until(std::min(deadline, clock::now() + std::chrono::milliseconds(100)));
        e.loop_id_->driver.store(std::thread::id{}, std::memory_order_release);
        lock.lock();
        driving_ = false;
        e.state_cv_.notify_all();
    }
    return {};
}

MQTT_CLIENT_DECL void client::run_loop_thread()
{
    auto& e = *engine_;
    e.loop_id_->driver.store(std::this_thread::get_id(), std::memory_order_release);
    e.post(&detail::engine::on_wake_posted, 0);  // events a stopped loop left behind
    for (;;) {
        try {
            io_.run();
            break;
        } catch (const std::exception& ex) {
            // Out of memory in a handler, say: the operation it served is
            // lost, the loop goes on and says why.
            e.events_.emplace_back(session::log_line{log_level::err, std::string("message loop: ") + ex.what()});
            e.post(&detail::engine::on_wake_posted, 0);
        }
    }
    e.loop_id_->driver.store(std::thread::id{}, std::memory_order_release);
    std::lock_guard<std::mutex> guard(e.mutex_);
    loop_running_ = false;
    e.state_cv_.notify_all();
}

MQTT_CLIENT_DECL std::error_code client::loop_start()
{
    // In a callback the loop runs on this very thread (a loop thread, or a
    // caller inside connect/loop/loop_forever): waiting for it would never end.
    if (on_loop_thread()) return make_error_code(errc::loop_already_running);
    std::unique_lock<std::mutex> lock(engine_->mutex_);
    if (loop_running_) return make_error_code(errc::loop_already_running);
    engine_->state_cv_.wait(lock, [this] { return !driving_; });
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
    thread_ = std::thread([this] { run_loop_thread(); });
    return {};
}

MQTT_CLIENT_DECL std::error_code client::loop_stop()
{
    std::unique_lock<std::mutex> lock(engine_->mutex_);
    if (!thread_.joinable()) return make_error_code(errc::loop_not_running);
    io_.stop();
    if (thread_.get_id() == std::this_thread::get_id()) return {};  // joined by loop_start or ~client
    std::thread t = std::move(thread_);
    lock.unlock();
    t.join();
    return {};
}

MQTT_CLIENT_DECL std::error_code client::loop_forever()
{
    {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        if (loop_running_) return make_error_code(errc::loop_already_running);
        if (!engine_->session_.active()) return make_error_code(errc::not_connected);
    }
    // Until the session ends: disconnect(), or a lost connection without
    // automatic reconnect.
    auto ec = run_until([&] { return !engine_->session_.active() && !engine_->session_.has_events(); },
                        clock::now() + std::chrono::hours(24 * 365 * 10));
    if (ec) return ec;
    std::lock_guard<std::mutex> lock(engine_->mutex_);
    return engine_->ended_by_;
}

MQTT_CLIENT_DECL std::error_code client::loop(std::chrono::milliseconds timeout)
{
    {
        std::lock_guard<std::mutex> lock(engine_->mutex_);
        if (loop_running_) return make_error_code(errc::loop_already_running);
    }
    if (on_loop_thread()) return make_error_code(errc::would_deadlock);
    bool first = true;
    // Runs until at least one handler ran or the timeout passed, then what is ready.
    auto ec = run_until([&] { return !std::exchange(first, false); }, clock::now() + timeout);
    if (ec && ec != errc::timeout) return ec;
    return is_connected() ? std::error_code{} : make_error_code(errc::not_connected);
}

}  // namespace v1
}  // namespace mqtt
