// Where programs find the shipped data: $FABTWIN_DATA, the installed layout, the build-tree marker.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fabtwin/io/data_dir.hpp"

namespace fs = std::filesystem;
using namespace fabtwin;

namespace {

// A fresh, empty folder under the system temp folder, removed at the end of the test.
struct TempTree {
  fs::path root = fs::temp_directory_path() / ("fabtwin_test_data_dir_" + std::to_string(::getpid()));
  TempTree() {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~TempTree() { fs::remove_all(root); }
  fs::path dir(const fs::path& rel) const {
    fs::create_directories(root / rel);
    return root / rel;
  }
  void write(const fs::path& rel, const std::string& text) const {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  }
};

bool mentions(const model::Error& e, const std::string& s) { return e.what().find(s) != std::string::npos; }

}  // namespace

TEST_CASE("an installed program finds <prefix>/share/fabtwin/twin_models from its own folder", "[io][data]") {
  TempTree t;
  const fs::path data = t.dir("prefix/share/fabtwin/twin_models");
  auto r = io::locate_data_dir(t.dir("prefix/bin"), nullptr);
  REQUIRE(r.ok());
  CHECK(fs::equivalent(r.value(), data));
}

TEST_CASE("a program in the build tree finds the folder its marker names", "[io][data]") {
  TempTree t;
  const fs::path data = t.dir("src/twin_models");
  const fs::path prog = t.dir("build/services/cli");
  t.write("build/services/cli/" + std::string(io::kDataMarker), data.string() + "\n");
  auto r = io::locate_data_dir(prog, nullptr);
  REQUIRE(r.ok());
  CHECK(fs::equivalent(r.value(), data));

  SECTION("a relative marker is read from the program's folder") {
    t.write("build/services/cli/" + std::string(io::kDataMarker), "../../../src/twin_models\n");
    auto rel = io::locate_data_dir(prog, nullptr);
    REQUIRE(rel.ok());
    CHECK(fs::equivalent(rel.value(), data));
  }
  SECTION("the installed layout wins over the marker") {
    const fs::path installed = t.dir("build/services/share/fabtwin/twin_models");
    auto both = io::locate_data_dir(prog, nullptr);
    REQUIRE(both.ok());
    CHECK(fs::equivalent(both.value(), installed));
  }
}

TEST_CASE("FABTWIN_DATA, when set, is the only place looked", "[io][data]") {
  TempTree t;
  const fs::path prog = t.dir("prefix/bin");
  t.dir("prefix/share/fabtwin/twin_models");
  const fs::path mine = t.dir("mine");
  auto r = io::locate_data_dir(prog, mine.string().c_str());
  REQUIRE(r.ok());
  CHECK(fs::equivalent(r.value(), mine));

  const std::string missing = (t.root / "missing").string();
  auto bad = io::locate_data_dir(prog, missing.c_str());
  REQUIRE_FALSE(bad.ok());
  CHECK(mentions(bad.error(), "FABTWIN_DATA"));
  CHECK(mentions(bad.error(), missing));

  SECTION("an empty FABTWIN_DATA counts as unset") {
    auto empty = io::locate_data_dir(prog, "");
    REQUIRE(empty.ok());
    CHECK(fs::equivalent(empty.value(), t.root / "prefix/share/fabtwin/twin_models"));
  }
}

TEST_CASE("without data the error names every place looked", "[io][data]") {
  TempTree t;
  const fs::path prog = t.dir("lonely/bin");
  auto r = io::locate_data_dir(prog, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error(), "FABTWIN_DATA"));
  CHECK(mentions(r.error(), (t.root / "lonely/share/fabtwin/twin_models").string()));
  CHECK(mentions(r.error(), (prog / io::kDataMarker).string()));

  SECTION("a marker naming no folder is an error naming the marker") {
    t.write("lonely/bin/" + std::string(io::kDataMarker), (t.root / "gone").string() + "\n");
    auto m = io::locate_data_dir(prog, nullptr);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().file == (prog / io::kDataMarker).string());
    CHECK(mentions(m.error(), (t.root / "gone").string()));
  }
}

TEST_CASE("the running program's folder holds its executable", "[io][data]") {
  auto dir = io::program_dir();
  REQUIRE(dir.ok());
  CHECK(dir.value().is_absolute());
  CHECK(fs::exists(dir.value() / "test_io"));
}

TEST_CASE("find_data and require_data resolve inside the data folder and name what is missing",
          "[io][data]") {
  TempTree t;
  t.write("data/yield_params.json", "{}");
  const char* old = std::getenv(io::kDataEnv);
  const std::string saved = old ? old : "";
  ::setenv(io::kDataEnv, (t.root / "data").c_str(), 1);

  auto found = io::find_data("yield_params.json");
  auto missing = io::find_data("nothing.json");
  bool threw = false;
  std::string what;
  try {
    (void)io::require_data("nothing.json");
  } catch (const io::DataNotFound& e) {
    threw = true;
    what = e.what();
  }
  const fs::path required = io::require_data("yield_params.json");
  if (old)
    ::setenv(io::kDataEnv, saved.c_str(), 1);
  else
    ::unsetenv(io::kDataEnv);

  REQUIRE(found.ok());
  CHECK(fs::equivalent(found.value(), t.root / "data/yield_params.json"));
  CHECK(fs::equivalent(required, found.value()));
  REQUIRE_FALSE(missing.ok());
  CHECK(mentions(missing.error(), (t.root / "data/nothing.json").string()));
  CHECK(threw);
  CHECK(what.find("nothing.json") != std::string::npos);
}
