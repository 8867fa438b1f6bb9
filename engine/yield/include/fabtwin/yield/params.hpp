#pragma once
// Parameters of the defect and yield model (docs/yield.md; the shipped values are in
// twin_models/yield_params.json). Densities in defects/cm^2, lengths in mm.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/yield/geometry.hpp"
#include "fabtwin/yield/rates.hpp"

namespace fabtwin::yield {

// Defects one step of a process area adds (SMT2020: the STNGRP of the step's tool group).
struct AreaDefects {
  std::string name;          // area name as in the model, e.g. "Litho"
  double d0_per_step = 0.0;  // defects/cm^2 added by each step run on a nominal tool (>= 0)
  double kill_ratio = 1.0;   // fraction of those defects that kill the die they land on (0..1)
};

// Shapes of the systematic signatures (their strength is per fault: ToolFault::intensity).
struct SignatureShapes {
  double centre_sigma_mm = 40.0;     // Gaussian width of the centre blob: weight e^{-r^2 / (2 sigma^2)}
  double edge_ring_width_mm = 10.0;  // dies reaching within this distance of the usable edge: weight 1
  double scratch_length_mm = 120.0;  // straight scratch, centre uniform on the wafer, angle uniform
  double scratch_width_mm = 1.0;     // dies within half this width of the scratch line are hit
};

// Tool health: multiplier on the density of the steps a tool runs (1 = nominal). The simulation
// supplies the inputs (days since the tool's last PM, lots since its last repair).
struct ToolHealthParams {
  double drift_per_day = 0.0;         // +fraction per day since the last PM (linear drift)
  double drift_max = 0.0;             // cap on the drift (fraction), e.g. 0.5 = at most x1.5
  double excursion_multiplier = 1.0;  // x this for the first excursion_lots lots after a repair
  std::uint32_t excursion_lots = 0;   // 0: no excursion
};

// A fault planted on one tool (for analysts to find): a raised density and/or a signature.
struct ToolFault {
  std::string tool;                 // tool name as in the model (SMT2020 STN), e.g. "DE_FE_51"
  double density_multiplier = 1.0;  // x the area density at every step this tool runs
  Signature signature = Signature::None;
  double intensity = 0.0;    // signature: killer defects/cm^2 at weight 1
  double probability = 1.0;  // signature: chance per pass (0..1)
};

struct ProductDie {
  std::string product;  // product name as in the model (SMT2020 PART), e.g. "part_3"
  double width_mm = 10.0, height_mm = 10.0;
};

struct YieldParams {
  WaferGeometry wafer;         // diameter, edge exclusion, scribe; die size from products
  double cluster_alpha = 2.0;  // negative-binomial cluster parameter; <= 0: no clustering (Poisson)
  std::vector<AreaDefects> areas;
  AreaDefects default_area{"*", 0.0, 0.0};  // for steps whose area is not listed
  SignatureShapes shapes;
  ToolHealthParams health;
  std::vector<ToolFault> faults;
  std::vector<ProductDie> products;
  double default_die_width_mm = 10.0, default_die_height_mm = 10.0;  // products not listed
  std::uint64_t seed = 1;                                            // Philox seed of the yield draws

  // The wafer geometry with the die size of `product` (the default size when not listed).
  WaferGeometry geometry_for(std::string_view product) const;
};

// Signature name: "none", "centre", "edge_ring", "scratch".
std::string_view to_string(Signature s);

// Reads the JSON parameter file (schema "fabtwin.v1.YieldParams", docs/yield.md). Every error
// names file, line and field; unknown keys are errors (catch typos).
model::Result<YieldParams> read_yield_params(const std::filesystem::path& file);
model::Result<YieldParams> parse_yield_params(std::string_view json,
                                              std::string_view file_label = "<memory>");

}  // namespace fabtwin::yield
