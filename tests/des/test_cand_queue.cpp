// A group's queue keeps (arrival, serial) order under any mix of joins and departures, reports
// every entry it moves, and knows its highest priority.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "cand_queue.hpp"

using fabtwin::des::Candidate;
using fabtwin::des::CandQueue;

TEST_CASE("a group queue stays in arrival order and reports where its lots move", "[des]") {
  std::mt19937_64 rng(11);
  CandQueue q;
  std::map<std::uint32_t, std::uint32_t> pos;  // lot -> index reported
  std::vector<Candidate> reference;            // the live entries, any order
  auto moved = [&](std::uint32_t lot, std::uint32_t p) { pos[lot] = p; };
  std::int64_t now = 0;
  std::uint32_t next_lot = 0;
  for (int step = 0; step < 20000; ++step) {
    const auto r = rng() % 10;
    if (r < 5 || reference.empty()) {
      Candidate e;
      e.lot = next_lot++;
      e.serial = static_cast<std::uint32_t>(rng() % 1000000);
      e.priority = rng() % 20 == 0 ? 30 : (rng() % 5 == 0 ? 20 : 10);
      // mostly now (lots arrive in time order), sometimes the same ms, sometimes earlier (a restore
      // or an MES move may queue a lot with an older arrival)
      now += static_cast<std::int64_t>(rng() % 3);
      e.arrival_ms = rng() % 20 == 0 ? now - static_cast<std::int64_t>(rng() % 50) : now;
      q.insert(e, moved);
      reference.push_back(e);
    } else {
      // mostly the oldest (FIFO dispatch), else any lot
      std::size_t k = 0;
      if (r < 8) {
        k = static_cast<std::size_t>(std::min_element(reference.begin(), reference.end(), CandQueue::before) -
                                     reference.begin());
      } else {
        k = rng() % reference.size();
      }
      const std::uint32_t lot = reference[k].lot;
      REQUIRE(q.at(pos.at(lot)).lot == lot);
      q.erase(pos.at(lot), moved);
      pos.erase(lot);
      reference.erase(reference.begin() + static_cast<std::ptrdiff_t>(k));
    }
    REQUIRE(q.size() == reference.size());
    REQUIRE(std::is_sorted(q.begin(), q.end(), CandQueue::before));
    std::uint32_t top = 0;
    for (const Candidate& e : reference) top = std::max(top, e.priority);
    REQUIRE(q.top_priority() == top);
    if (step % 97 == 0)
      for (const auto& [lot, p] : pos) REQUIRE(q.at(p).lot == lot);
  }
  // A restored queue (any order) is sorted and every entry reported.
  std::vector<Candidate> saved(q.begin(), q.end());
  std::shuffle(saved.begin(), saved.end(), rng);
  CandQueue r;
  pos.clear();
  r.assign(saved, moved);
  REQUIRE(std::equal(r.begin(), r.end(), q.begin(), q.end(),
                     [](const Candidate& a, const Candidate& b) { return a.lot == b.lot; }));
  REQUIRE(pos.size() == saved.size());
  for (const auto& [lot, p] : pos) REQUIRE(r.at(p).lot == lot);
  REQUIRE(r.top_priority() == q.top_priority());
}
