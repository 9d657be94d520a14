#pragma once

namespace mqtt {
inline namespace v1 {

// What publish does when the outgoing buffer is full.
enum class queue_policy {
    reject,  // the new message's rc() is errc::queue_full
    drop_oldest,  // the oldest queued message completes with errc::queue_full
};

}  // namespace v1
}  // namespace mqtt
