// session::ring_queue, the FIFO under the client's outgoing buffer, in-flight
// window and event queue: order across wrap-around and growth, erase from
// either half, push_front, and element lifetimes (every constructed element
// destroyed once).

#include <mqtt/session/ring_queue.hpp>

#include "support/catch.hpp"

#include <memory>
#include <string>
#include <vector>

using mqtt::session::ring_queue;

namespace {

std::vector<int> contents(const ring_queue<int>& q)
{
    return std::vector<int>(q.begin(), q.end());
}

}  // namespace

TEST_CASE("ring_queue keeps FIFO order across wrap-around and growth", "[ring_queue]")
{
    ring_queue<int> q;
    int next_in = 0, next_out = 0;
    // Grow and shrink by uneven steps so the head wraps at many positions.
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < round % 7 + 3; ++i) q.push_back(int{next_in++});
        for (int i = 0; i < round % 5 + 1 && !q.empty(); ++i) {
            REQUIRE(q.front() == next_out++);
            q.pop_front();
        }
        REQUIRE(q.size() == static_cast<std::size_t>(next_in - next_out));
        if (!q.empty()) REQUIRE(q.back() == next_in - 1);
    }
    std::vector<int> expected;
    for (int i = next_out; i < next_in; ++i) expected.push_back(i);
    CHECK(contents(q) == expected);
}

TEST_CASE("ring_queue erase keeps the others in order, from either half", "[ring_queue]")
{
    ring_queue<int> q;
    q.push_back(99);
    q.pop_front();  // the head is off 0, so erase works across the wrap
    for (int i = 0; i < 10; ++i) q.push_back(int{i});

    auto it = q.erase(q.begin());  // the front (how acks in order arrive)
    CHECK(*it == 1);
    it = q.begin();
    ++it;
    ++it;  // 3, in the front half
    CHECK(*q.erase(it) == 4);
    it = q.begin();
    for (int i = 0; i < 5; ++i) ++it;  // 7, in the back half
    CHECK(*q.erase(it) == 8);
    CHECK(contents(q) == std::vector<int>{1, 2, 4, 5, 6, 8, 9});
    auto last = q.begin();
    for (int i = 0; i < 6; ++i) ++last;
    const auto after_last = q.erase(last);
    CHECK(after_last == q.end());
    CHECK(contents(q) == std::vector<int>{1, 2, 4, 5, 6, 8});
}

TEST_CASE("ring_queue push_front goes before the head, also when it must grow", "[ring_queue]")
{
    ring_queue<int> q;
    for (int i = 0; i < 16; ++i) q.push_back(int{i});  // full at the first capacity
    q.push_front(-1);
    q.emplace_front(-2);
    REQUIRE(q.size() == 18);
    CHECK(q.front() == -2);
    std::vector<int> expected{-2, -1};
    for (int i = 0; i < 16; ++i) expected.push_back(i);
    CHECK(contents(q) == expected);
}

TEST_CASE("ring_queue destroys every element once: pop, erase, clear, swap and its own end", "[ring_queue]")
{
    auto token = std::make_shared<int>(0);
    {
        ring_queue<std::shared_ptr<int>> q;
        for (int i = 0; i < 100; ++i) q.push_back(std::shared_ptr<int>(token));
        CHECK(token.use_count() == 101);
        for (int i = 0; i < 30; ++i) q.pop_front();
        q.erase(q.begin());
        CHECK(token.use_count() == 70);

        ring_queue<std::shared_ptr<int>> other;
        other.swap(q);
        CHECK(q.empty());
        CHECK(other.size() == 69);
        other.clear();
        CHECK(token.use_count() == 1);
        for (int i = 0; i < 5000; ++i) q.push_back(std::shared_ptr<int>(token));  // past the kept capacity
        while (!q.empty()) q.pop_front();
        CHECK(token.use_count() == 1);
        for (int i = 0; i < 3; ++i) q.emplace_back(token);
    }
    CHECK(token.use_count() == 1);  // the queue's destructor released the last three
}

TEST_CASE("ring_queue holds move-only values", "[ring_queue]")
{
    ring_queue<std::unique_ptr<std::string>> q;
    for (int i = 0; i < 40; ++i) q.push_back(std::make_unique<std::string>(std::to_string(i)));
    std::string joined;
    while (!q.empty()) {
        joined += *q.front();
        q.pop_front();
    }
    CHECK(joined.substr(0, 12) == "012345678910");
}
