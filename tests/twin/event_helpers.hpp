#pragma once
// Comparing events field by field in tests (des::Event has no operator==).
#include <catch2/catch.hpp>

#include "fabtwin/des/events.hpp"

namespace fabtwin::test {

inline void check_same_event(const des::Event& a, const des::Event& b) {
  CHECK(a.id == b.id);
  CHECK(a.time == b.time);
  CHECK(a.kind == b.kind);
  CHECK(a.lots == b.lots);
  CHECK(a.tool == b.tool);
  CHECK(a.step == b.step);
  CHECK(a.next_step == b.next_step);
  CHECK(a.route_done == b.route_done);
  CHECK(a.product == b.product);
  CHECK(a.priority == b.priority);
  CHECK(a.wafers == b.wafers);
  CHECK(a.due == b.due);
  CHECK(a.state == b.state);
  CHECK(a.until == b.until);
  CHECK(a.setup == b.setup);
  CHECK(a.calendar == b.calendar);
}

}  // namespace fabtwin::test
