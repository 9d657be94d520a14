// mqtt::detail::backoff on its own: seeded, no sockets, no clock.

#include "fault_test_helpers.hpp"

#include <mqtt/detail/backoff.hpp>

#include <set>

using namespace fault_test;
using mqtt::detail::backoff;

TEST_CASE("backoff: each delay lies between min and the cap and the cap doubles up to max", "[backoff]")
{
    backoff b(100ms, 1600ms, 42);
    const std::vector<ms::rep> caps{100, 200, 400, 800, 1600, 1600, 1600, 1600};
    for (std::size_t i = 0; i < caps.size(); ++i) {
        INFO("attempt " << i);
        CHECK(b.current_cap().count() == caps[i]);
        const auto d = b.next();
        CHECK(d >= 100ms);
        CHECK(d.count() <= caps[i]);
    }
    // Many more calls: the cap stays at max, no overflow.
    for (int i = 0; i < 1000; ++i) {
        const auto d = b.next();
        REQUIRE(d >= 100ms);
        REQUIRE(d <= 1600ms);
    }
    CHECK(b.current_cap() == 1600ms);
}

TEST_CASE("backoff: the same seed gives the same delays and another seed others", "[backoff]")
{
    auto sequence = [](std::uint32_t seed) {
        backoff b(10ms, 10000ms, seed);
        std::vector<ms::rep> out;
        for (int i = 0; i < 20; ++i) out.push_back(b.next().count());
        return out;
    };
    CHECK(sequence(1) == sequence(1));
    CHECK(sequence(1) != sequence(2));

    // seed() restarts the sequence.
    backoff b(10ms, 10000ms, 99);
    b.seed(1);
    std::vector<ms::rep> reseeded;
    for (int i = 0; i < 20; ++i) reseeded.push_back(b.next().count());
    CHECK(reseeded == sequence(1));
}

TEST_CASE("backoff: full jitter spreads the delays from min to the cap", "[backoff]")
{
    // At the cap (max), 2000 draws from [100, 1600] ms: spread over the whole
    // range, mean near the middle - not all clients at the same instant.
    backoff b(100ms, 1600ms, 7);
    for (int i = 0; i < 10; ++i) b.next();
    std::set<ms::rep> distinct;
    ms::rep low = 1600, high = 100, sum = 0;
    constexpr int draws = 2000;
    for (int i = 0; i < draws; ++i) {
        const auto d = b.next().count();
        distinct.insert(d);
        low = std::min(low, d);
        high = std::max(high, d);
        sum += d;
    }
    const double mean = static_cast<double>(sum) / draws;
    INFO("min " << low << " ms, max " << high << " ms, mean " << mean << " ms, " << distinct.size() << " distinct");
    CHECK(distinct.size() > 500);
    CHECK(low < 200);
    CHECK(high > 1500);
    CHECK(mean > 750);
    CHECK(mean < 950);
}

TEST_CASE("backoff: reset returns the cap to min and equal bounds give a constant delay", "[backoff]")
{
    backoff b(50ms, 400ms, 3);
    for (int i = 0; i < 6; ++i) b.next();
    CHECK(b.current_cap() == 400ms);
    b.reset();
    CHECK(b.current_cap() == 50ms);
    CHECK(b.next() == 50ms);  // [min, min]
    CHECK(b.current_cap() == 100ms);

    backoff fixed(250ms, 250ms, 5);
    for (int i = 0; i < 10; ++i) CHECK(fixed.next() == 250ms);

    // max below min is raised to min.
    backoff inverted(300ms, 100ms, 5);
    CHECK(inverted.next() == 300ms);
    CHECK(inverted.current_cap() == 300ms);

    // set_bounds keeps the exponent: the cap follows the new bounds.
    backoff moved(100ms, 800ms, 5);
    moved.next();
    moved.next();
    CHECK(moved.current_cap() == 400ms);
    moved.set_bounds(10ms, 20ms);
    CHECK(moved.current_cap() == 20ms);
}
