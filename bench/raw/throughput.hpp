#pragma once

// The ceiling: how many messages the broker carries when the clients cost
// next to nothing. Pre-encoded PUBLISH packets written in large batches, a
// reader that only splits frames by their lengths (and acks QoS 1/2).

#include "common/options.hpp"
#include "common/result.hpp"

namespace bench {

result run_raw_throughput(const options& opts);

}  // namespace bench
