#pragma once
// Which fields each MES event kind uses (allowed) and needs (required), besides its id, time and
// kind: one table for every event codec (JSON lines, event_json.hpp; Protobuf, services/pb).
#include <cstdint>

#include "fabtwin/des/events.hpp"

namespace fabtwin::twin {

enum class EventField : std::uint8_t {
  Lots,
  Tool,
  Step,
  NextStep,
  RouteDone,
  Product,
  Priority,
  Wafers,
  Due,
  State,
  Until,
  Setup,
  Calendar,
};
inline constexpr int kEventFieldCount = 13;
constexpr std::uint32_t field_bit(EventField f) { return 1u << static_cast<int>(f); }

struct EventFields {
  std::uint32_t allowed = 0;   // field_bit of each field the kind may carry
  std::uint32_t required = 0;  // those it must carry
};
EventFields event_fields(des::EventKind kind);

}  // namespace fabtwin::twin
