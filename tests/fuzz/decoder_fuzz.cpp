// libFuzzer target for the incremental decoder.
//
// The input is a byte stream as a broker would send it. It is decoded twice:
// at once, and in chunks whose sizes come from the input itself (so the
// fuzzer explores splits together with content). Both must agree; every
// decoded packet must survive encode -> decode unchanged; the decoder must
// never read past what it is given or stop early without a reason.

#include <mqtt/protocol/decoder.hpp>
#include <mqtt/protocol/encoder.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <vector>

namespace {

using namespace mqtt::protocol;

// Small, so that "too large" paths are reachable with short inputs.
constexpr std::size_t max_packet_size = 1024 * 1024;

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "decoder_fuzz: %s\n", what);
    std::abort();
}

struct outcome {
    std::vector<packet> packets;
    std::error_code ec;
};

// The byte at the start of a chunk picks its size: one byte, up to 64, up
// to ~4 KiB, or the whole rest (the decoder's in-place path).
std::size_t chunk_size(std::uint8_t selector, std::size_t left)
{
    std::size_t n = left;
    switch (selector & 0x03u) {
    case 0: n = 1; break;
    case 1: n = 1 + (selector >> 2u); break;
    case 2: n = 1 + (selector >> 2u) * 64u; break;
    default: break;
    }
    return std::min(n, left);
}

outcome decode_stream(const std::uint8_t* data, std::size_t size, bool chunked)
{
    decoder d(max_packet_size);
    outcome result;
    std::size_t offset = 0;
    while (offset < size) {
        const std::size_t chunk = chunked ? chunk_size(data[offset], size - offset) : size - offset;
        const std::uint8_t* p = data + offset;
        std::size_t left = chunk;
        while (left > 0) {
            std::optional<packet> out;
            const std::size_t used = d.feed(p, left, out, result.ec);
            if (used > left) fail("feed consumed more than it was given");
            p += used;
            left -= used;
            if (result.ec) {
                if (!d.failed() || out) fail("error without failed state, or with a packet");
                return result;
            }
            if (out) {
                result.packets.push_back(std::move(*out));
            } else if (left != 0) {
                fail("feed stopped early without a packet or an error");
            }
        }
        offset += chunk;
    }
    return result;
}

void check_round_trip(const packet& original)
{
    byte_buffer bytes;
    encode(original, bytes);
    decoder d(bytes.size());  // the exact size must be enough
    std::optional<packet> out;
    std::error_code ec;
    const std::size_t used = d.feed(bytes.data(), bytes.size(), out, ec);
    if (ec) fail("re-encoded packet does not decode");
    if (!out || used != bytes.size()) fail("re-encoded packet is not one whole packet");
    if (!(*out == original)) fail("encode -> decode changed the packet");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const outcome whole = decode_stream(data, size, false);
    const outcome chunked = decode_stream(data, size, true);
    if (whole.ec != chunked.ec) fail("chunked feeding gave a different error");
    if (whole.packets != chunked.packets) fail("chunked feeding gave different packets");
    for (const auto& p : whole.packets) check_round_trip(p);
    return 0;
}
