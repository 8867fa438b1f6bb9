#pragma once
// What the Monte Carlo kernel needs to know about one wafer's process history, reduced to a
// fixed-size value (copied as is to the GPU): killer and total defect densities by process area and
// the signature events (passes through tools with a planted centre / edge-ring / scratch fault).
// Build it with DefectModel::rates() from a step history, or directly (uniform_rates()).
#include <cstdint>

namespace fabtwin::yield {

inline constexpr std::uint32_t kMaxAreas = 16;     // process areas per model (SMT2020 has 12)
inline constexpr std::uint32_t kMaxEvents = 16;    // signature passes kept per wafer history
inline constexpr std::uint32_t kMaxScratches = 4;  // scratches drawn per wafer (more are dropped)

// Systematic (spatial) signatures a faulty tool can leave.
enum class Signature : std::uint32_t {
  None = 0,
  Centre = 1,    // a Gaussian blob of killer defects at the wafer centre (width: centre_sigma_mm)
  EdgeRing = 2,  // killer defects on dies reaching into the outer ring (width: edge_ring_width_mm)
  Scratch = 3,   // a straight scratch at a random place and angle (length and width in SignatureShapes)
};

// Die bins in a wafer map (one byte per die). A failing die gets the bin of the cause that killed it;
// with several causes one is chosen in proportion to their killer rates at that die.
enum DieBin : std::uint8_t {
  kBinPass = 0,
  kBinRandom = 1,  // random / clustered defects (the negative-binomial part)
  kBinCentre = 2,
  kBinEdgeRing = 3,
  kBinScratch = 4,
};
inline constexpr std::uint32_t kBinCount = 5;

// One pass through a tool with a planted signature fault.
struct SignatureEvent {
  std::uint32_t step = 0;  // step id: keys the random draws of this pass
  Signature kind = Signature::None;
  double intensity = 0.0;    // killer defects/cm^2 where the signature's weight is 1
  double probability = 1.0;  // chance that this pass leaves the signature (0..1)
};

struct WaferRates {
  std::uint32_t n_areas = 0;              // areas in use (kill_density/defect_density entries)
  std::uint32_t n_events = 0;             // events in use
  std::uint32_t dropped_events = 0;       // signature passes beyond kMaxEvents (ignored)
  double kill_density[kMaxAreas] = {};    // killer defects/cm^2 from area a (sum of d0 * kill ratio * health)
  double defect_density[kMaxAreas] = {};  // all defects/cm^2 from area a (sum of d0 * health)
  SignatureEvent events[kMaxEvents] = {};

  // Total killer density over all areas (defects/cm^2).
  double total_kill_density() const {
    double d = 0;
    for (std::uint32_t a = 0; a < n_areas; ++a) d += kill_density[a];
    return d;
  }
  // Appends an event; counts it in dropped_events when kMaxEvents are already in use.
  void add_event(const SignatureEvent& e) {
    if (n_events < kMaxEvents)
      events[n_events++] = e;
    else
      ++dropped_events;
  }
};

// One area with killer density `kill_density` (defects/cm^2, kill ratio 1) and no signatures: the
// pure random + clustered model of `fabtwin yield mc`.
inline WaferRates uniform_rates(double kill_density) {
  WaferRates r;
  r.n_areas = 1;
  r.kill_density[0] = kill_density;
  r.defect_density[0] = kill_density;
  return r;
}

}  // namespace fabtwin::yield
