#pragma once
// Shared by the what-if tests: a saved state as `simulate --save-state` writes it.
#include <fstream>
#include <stdexcept>
#include <string>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/model/time.hpp"
#include "test_paths.hpp"

namespace fabtwin::test {

// The mini-fab run (seed 1) to `days`, saved to `file`; returns `file`.
inline std::string write_state_file(const std::string& file, double days) {
  auto model = io::load_model(minifab());
  if (!model.ok()) throw std::runtime_error(model.error().what());
  auto sim = des::Simulation::create(model.value(), {}).value();
  sim.run_until(model::SimTime{model::round_ms(days * model::kMsPerDay)});
  std::ofstream out(file, std::ios::binary);
  out << "FABTWIN-STATE 1\nmodel " << minifab().string() << "\n\n" << sim.save();
  return file;
}

}  // namespace fabtwin::test
