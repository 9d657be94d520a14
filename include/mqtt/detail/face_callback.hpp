#pragma once

// A face's public callback member (`client.on_message = f`): it stores f,
// bound to the face, in the engine's slot of the same name. Unset costs the
// engine nothing (no event is made for a callback nobody set).

#include <mqtt/detail/callback.hpp>

#include <cstddef>
#include <functional>
#include <utility>

namespace mqtt {
inline namespace v1 {
namespace detail {

template <class Face, class Signature>
class face_callback;

template <class Face, class... Args>
class face_callback<Face, void(Face&, Args...)> {
public:
    using engine_slot = callback<void(Args...)>;

    face_callback(Face& face, engine_slot& target) noexcept : face_(&face), target_(&target) {}
    face_callback(const face_callback&) = delete;
    face_callback& operator=(const face_callback&) = delete;

    template <class F>
    face_callback& operator=(F&& f)
    {
        std::function<void(Face&, Args...)> fn(std::forward<F>(f));
        if (!fn) {
            *target_ = nullptr;
            return *this;
        }
        *target_ = [face = face_, fn = std::move(fn)](Args... args) { fn(*face, args...); };
        return *this;
    }

    face_callback& operator=(std::nullptr_t)
    {
        *target_ = nullptr;
        return *this;
    }

    explicit operator bool() const { return static_cast<bool>(*target_); }

private:
    Face* face_;
    engine_slot* target_;
};

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
