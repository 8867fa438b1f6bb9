#pragma once
// Strongly typed dense ids: distinct types over uint32 indices into the model's tables.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace fabtwin::model {

template <class Tag>
struct Id {
  std::uint32_t value = UINT32_MAX;  // UINT32_MAX: not set (a default-constructed id)

  constexpr Id() = default;
  constexpr explicit Id(std::uint32_t v) : value(v) {}
  constexpr explicit Id(std::size_t v) : value(static_cast<std::uint32_t>(v)) {}
  constexpr explicit Id(int v) : value(static_cast<std::uint32_t>(v)) {}
  constexpr bool valid() const { return value != UINT32_MAX; }
  constexpr std::size_t index() const { return value; }
  friend constexpr auto operator<=>(Id, Id) = default;
};

using AreaId = Id<struct AreaTag>;            // STNGRP, e.g. "Litho"
using LocationId = Id<struct LocationTag>;    // STNFAMLOC, e.g. "Fab", "Delay"
using ToolGroupId = Id<struct ToolGroupTag>;  // STNFAM, e.g. "LithoTrack_FE_95"
using ToolId = Id<struct ToolTag>;            // one tool of a group
using ProductId = Id<struct ProductTag>;      // PART
using RouteId = Id<struct RouteTag>;          // ROUTE (one per product)
using StepId = Id<struct StepTag>;            // global over all routes: route.first_step + index
using SetupId = Id<struct SetupTag>;          // a setup (tool state), e.g. "SU128_1"
using SetupGroupId = Id<struct SetupGroupTag>;
using DownCalendarId = Id<struct DownCalendarTag>;
using PmCalendarId = Id<struct PmCalendarTag>;
using OrderId = Id<struct OrderTag>;
using WipLotId = Id<struct WipLotTag>;

}  // namespace fabtwin::model

template <class Tag>
struct std::hash<fabtwin::model::Id<Tag>> {
  std::size_t operator()(fabtwin::model::Id<Tag> id) const noexcept { return id.value; }
};
