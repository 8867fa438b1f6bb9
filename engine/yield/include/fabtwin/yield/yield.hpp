#pragma once
// fabtwin::yield: defect and yield model (docs/yield.md).
#include "fabtwin/yield/analytic.hpp"
#include "fabtwin/yield/commonality.hpp"
#include "fabtwin/yield/defect_model.hpp"
#include "fabtwin/yield/geometry.hpp"
#include "fabtwin/yield/monte_carlo.hpp"
#include "fabtwin/yield/params.hpp"
#include "fabtwin/yield/png.hpp"
#include "fabtwin/yield/rates.hpp"
#include "fabtwin/yield/wafer_map.hpp"
