// Packet id allocation: 1, 2, ... 65535, 1, skipping ids in use.
// packet_id.hpp comes first: this TU checks that it is self-contained.
#include <mqtt/protocol/packet_id.hpp>

#include "protocol_test_util.hpp"

using mqtt::protocol::packet_id_allocator;

namespace {
// The allocated id, or -1 for none: prints readably in a failed CHECK.
int next_id(packet_id_allocator& ids)
{
    const auto id = ids.allocate();
    return id ? int{*id} : -1;
}

void allocate_all(packet_id_allocator& ids)
{
    for (std::uint32_t expected = 1; expected <= 65535; ++expected) {
        const auto id = ids.allocate();
        REQUIRE(id);
        REQUIRE(*id == expected);
    }
}
}  // namespace

TEST_CASE("Packet ids start at 1 and increase", "[packet_id]")
{
    packet_id_allocator ids;
    CHECK(ids.in_use_count() == 0);
    CHECK(next_id(ids) == 1);
    CHECK(next_id(ids) == 2);
    CHECK(next_id(ids) == 3);
    CHECK(ids.in_use_count() == 3);
    CHECK(ids.in_use(2));
    CHECK_FALSE(ids.in_use(4));
}

TEST_CASE("A released id is not handed out again at once", "[packet_id]")
{
    packet_id_allocator ids;
    ids.allocate();  // 1
    ids.allocate();  // 2
    ids.release(1);
    CHECK_FALSE(ids.in_use(1));
    CHECK(ids.in_use_count() == 1);
    CHECK(next_id(ids) == 3);
}

TEST_CASE("All 65535 ids can be in use, then allocation fails until one is released", "[packet_id]")
{
    packet_id_allocator ids;
    allocate_all(ids);
    CHECK(ids.in_use_count() == 65535);
    CHECK(next_id(ids) == -1);
    CHECK(next_id(ids) == -1);

    ids.release(100);
    CHECK(next_id(ids) == 100);
    CHECK(next_id(ids) == -1);
}

TEST_CASE("Allocation wraps from 65535 to 1 and skips ids in use", "[packet_id]")
{
    packet_id_allocator ids;
    allocate_all(ids);
    ids.release(100);
    CHECK(next_id(ids) == 100);  // the search now continues at 101
    ids.release(7);
    ids.release(65535);
    ids.release(64);  // a word boundary of the bitset
    CHECK(next_id(ids) == 65535);
    CHECK(next_id(ids) == 7);  // wrapped past 0 to 1; 1..6 are in use
    CHECK(next_id(ids) == 64);
    CHECK(next_id(ids) == -1);
}

TEST_CASE("After a wrap, ids still in use are skipped", "[packet_id]")
{
    packet_id_allocator ids;
    allocate_all(ids);
    for (std::uint32_t id = 3; id <= 65535; ++id) ids.release(static_cast<std::uint16_t>(id));
    CHECK(ids.in_use_count() == 2);  // 1 and 2 still waiting for their acks
    CHECK(next_id(ids) == 3);
    CHECK(next_id(ids) == 4);
}

TEST_CASE("The id after 65535 is 1, never 0", "[packet_id]")
{
    packet_id_allocator ids;
    allocate_all(ids);
    for (std::uint32_t id = 1; id <= 65535; ++id) ids.release(static_cast<std::uint16_t>(id));
    CHECK(ids.in_use_count() == 0);
    CHECK(next_id(ids) == 1);
}

TEST_CASE("Releasing a free id or 0 changes nothing", "[packet_id]")
{
    packet_id_allocator ids;
    ids.allocate();  // 1
    ids.release(5);
    ids.release(0);
    CHECK(ids.in_use_count() == 1);
    CHECK_FALSE(ids.in_use(0));
    ids.release(1);
    ids.release(1);
    CHECK(ids.in_use_count() == 0);
}

TEST_CASE("reset frees everything and starts again from 1", "[packet_id]")
{
    packet_id_allocator ids;
    for (int i = 0; i < 1000; ++i) ids.allocate();
    ids.reset();
    CHECK(ids.in_use_count() == 0);
    CHECK_FALSE(ids.in_use(500));
    CHECK(next_id(ids) == 1);
}
