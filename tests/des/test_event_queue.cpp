// The kernel's event queue pops (time, insertion order) exactly like a sorted list would.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "event_queue.hpp"

using fabtwin::des::Ev;
using fabtwin::des::EventQueue;
using fabtwin::des::Pending;

TEST_CASE("the event queue pops by time, equal times in insertion order, as time moves on", "[des]") {
  std::mt19937_64 rng(42);
  EventQueue q;
  std::vector<Pending> reference;  // every event pushed, in push order
  std::uint64_t seq = 0;
  std::int64_t now = 0;
  std::vector<Pending> popped;
  auto push = [&](std::int64_t t) {
    const Pending e{t, (seq++ << 8) | static_cast<std::uint64_t>(Ev::Arrive), static_cast<std::uint32_t>(seq),
                    0};
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
      const std::int64_t d = r < 3   ? 0
                             : r < 8 ? static_cast<std::int64_t>(rng() % 600'000)
                                     : static_cast<std::int64_t>(rng() % 2'000'000'000);
      push(now + d);
    }
  }
  while (!q.empty()) popped.push_back(q.pop());
  REQUIRE(popped.size() == reference.size());
  std::stable_sort(reference.begin(), reference.end(),
                   [](const Pending& a, const Pending& b) { return a.t < b.t; });
  for (std::size_t i = 0; i < popped.size(); ++i) {
    INFO(i);
    REQUIRE(popped[i].t == reference[i].t);
    REQUIRE(popped[i].key == reference[i].key);
  }
}

TEST_CASE("events pushed after a peek past the clock still pop in order (run_until then apply)", "[des]") {
  // run_until(t) peeks at the next event (the queue refills up to it) and stops short of it when
  // it lies after t; an MES event applied at t then schedules work between t and that event.
  std::mt19937_64 rng(7);
  EventQueue q;
  std::vector<Pending> reference;
  std::uint64_t seq = 0;
  std::int64_t now = 0;
  std::vector<Pending> popped;
  auto push = [&](std::int64_t t) {
    const Pending e{t, (seq++ << 8) | static_cast<std::uint64_t>(Ev::SetupEnd),
                    static_cast<std::uint32_t>(seq), 0};
    q.push(e);
    reference.push_back(e);
  };
  for (int i = 0; i < 20; ++i) push(static_cast<std::int64_t>(rng() % 100'000'000));
  for (int step = 0; step < 20000; ++step) {
    const auto r = rng() % 4;
    if (r == 0 && !q.empty()) {
      // run_until(t) with t before the next event: the clock moves, nothing pops.
      const std::int64_t next = q.top().t;
      if (next > now) now += static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(next - now));
    } else if (r == 1 && !q.empty()) {
      const Pending e = q.pop();
      REQUIRE(e.t >= now);
      now = e.t;
      popped.push_back(e);
    } else {
      const auto k = rng() % 10;
      push(now + (k < 2   ? 0
                  : k < 8 ? static_cast<std::int64_t>(rng() % 600'000)
                          : static_cast<std::int64_t>(rng() % 50'000'000)));
    }
  }
  // A checkpoint sees every pending event, early ones included.
  std::size_t seen = 0;
  q.for_each([&](const Pending&) { ++seen; });
  CHECK(seen == q.size());
  while (!q.empty()) {
    const Pending e = q.pop();
    REQUIRE(e.t >= now);
    now = e.t;
    popped.push_back(e);
  }
  REQUIRE(popped.size() == reference.size());
  std::stable_sort(reference.begin(), reference.end(),
                   [](const Pending& a, const Pending& b) { return a.t < b.t; });
  for (std::size_t i = 0; i < popped.size(); ++i) {
    INFO(i);
    REQUIRE(popped[i].t == reference[i].t);
    REQUIRE(popped[i].key == reference[i].key);
  }
}

TEST_CASE("the event queue jumps over empty stretches and days-ahead events, and resets", "[des]") {
  // Events beyond the calendar's ring (about 18.6 h) wait apart and join it as time nears them;
  // an empty ring jumps to the next of them.
  std::mt19937_64 rng(3);
  EventQueue q;
  std::vector<Pending> reference;
  std::uint64_t seq = 0;
  auto push = [&](std::int64_t t) {
    const Pending e{t, (seq++ << 8) | static_cast<std::uint64_t>(Ev::Fail), static_cast<std::uint32_t>(seq),
                    0};
    q.push(e);
    reference.push_back(e);
  };
  std::int64_t now = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i)
      push(now + static_cast<std::int64_t>(rng() % 40'000'000'000));                           // up to 460 d
    for (int i = 0; i < 300; ++i) push(now + static_cast<std::int64_t>(rng() % 200'000'000));  // up to 2.3 d
    std::vector<Pending> popped;
    while (!q.empty()) {
      const Pending e = q.pop();
      REQUIRE(e.t >= now);
      now = e.t;
      popped.push_back(e);
      if (rng() % 7 == 0) push(now + static_cast<std::int64_t>(rng() % 100'000'000'000));
    }
    std::stable_sort(reference.begin(), reference.end(),
                     [](const Pending& a, const Pending& b) { return a.t < b.t; });
    REQUIRE(popped.size() == reference.size());
    for (std::size_t i = 0; i < popped.size(); ++i) {
      INFO(i);
      REQUIRE(popped[i].key == reference[i].key);
    }
    reference.clear();
    now += 5'000'000'000;  // a restore at a later time
    q.reset(now);
    REQUIRE(q.empty());
  }
}
