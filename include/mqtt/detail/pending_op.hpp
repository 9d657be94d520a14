#pragma once

// One waiting async_client operation, its handler type erased: the engine
// keeps these in its lists and completes them without knowing the handler.

#include <mqtt/message.hpp>

#include <cstdint>
#include <memory>
#include <system_error>
#include <vector>

namespace mqtt {
inline namespace v1 {
namespace detail {

// What any operation completes with; each picks the fields of its signature.
struct op_result {
    op_result() = default;
    op_result(std::error_code e, int m = 0) : ec(e), mid(m) {}  // NOLINT: {ec} and {ec, mid} read best

    std::error_code ec;
    int mid = 0;
    bool session_present = false;
    std::vector<int> granted_qos;
    message msg;
};

class pending_op {
public:
    pending_op() = default;
    pending_op(const pending_op&) = delete;
    pending_op& operator=(const pending_op&) = delete;
    virtual ~pending_op() = default;

    // Hands the result to the handler and frees the operation. `defer`: post
    // rather than dispatch (from the initiating call, or from another thread).
    virtual void complete(op_result r, bool defer) = 0;

    std::uint64_t id = 0;  // what a cancellation names
};

using op_ptr = std::unique_ptr<pending_op>;

// Completes and frees `op`.
inline void finish(op_ptr op, op_result r, bool defer)
{
    if (op) op.release()->complete(std::move(r), defer);
}

}  // namespace detail
}  // namespace v1
}  // namespace mqtt
