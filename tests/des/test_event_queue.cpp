// The kernel's event queue pops (time, insertion order) exactly like a sorted list would.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "event_queue.hpp"

using fabtwin::des::Ev;
using fabtwin::des::Pending;
using fabtwin::des::EventQueue;

TEST_CASE("the event queue pops by time, equal times in insertion order, as time moves on", "[des]") {
  std::mt19937_64 rng(42);
  EventQueue q;
  std::vector<Pending> reference;  // every event pushed, in push order
  std::uint64_t seq = 0;
  std::int64_t now = 0;
  std::vector<Pending> popped;
  auto push = [&](std::int64_t t) {
    const Pending e{t, (seq++ << 8) | static_cast<std::uint64_t>(Ev::Arrive), static_cast<std::uint32_t>(seq), 0};
    q.push(e);
    reference.push_back(e);
  };
  for (int i = 0; i < 50; ++i) push(static_cast<std::int64_t>(rng() % 1000));
  for (int step = 0; step < 20000; ++step) {
    if (!q.empty() && (rng() % 3 != 0)) {
      const Pending e = q.pop();
      REQUIRE(e.t >= now);
      now = e.t;
      popped.push_back(e);
    } else {
      // Pushes are never in the past; many at exactly `now`, some far ahead.
      const auto r = rng() % 10;
      const std::int64_t d = r < 3 ? 0 : r < 8 ? static_cast<std::int64_t>(rng() % 600'000)
                                               : static_cast<std::int64_t>(rng() % 2'000'000'000);
      push(now + d);
    }
  }
  while (!q.empty()) popped.push_back(q.pop());
  REQUIRE(popped.size() == reference.size());
  std::stable_sort(reference.begin(), reference.end(), [](const Pending& a, const Pending& b) { return a.t < b.t; });
  for (std::size_t i = 0; i < popped.size(); ++i) {
    INFO(i);
    REQUIRE(popped[i].t == reference[i].t);
    REQUIRE(popped[i].key == reference[i].key);
  }
}
