// The CSV writer of every run output: RFC 4180 quoting, numbers as elsewhere, and files that are
// closed and checked (a full device is an error naming the file).
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/io/output_file.hpp"

using namespace fabtwin;

namespace {

// A reader of RFC 4180 text for the test: rows of fields.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, in_row = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
      in_row = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
      in_row = true;
    } else if (c == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
      in_row = false;
    } else {
      field += c;
      in_row = true;
    }
  }
  if (in_row) rows.back().push_back(field);
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("fabtwin_test_csv_" + name);
}

}  // namespace

TEST_CASE("plain fields are written as they are", "[io][csv]") {
  CHECK(io::csv_field("Litho_FE_92") == "Litho_FE_92");
  CHECK(io::csv_field("part 1; step 3") == "part 1; step 3");
  CHECK(io::csv_field("") == "");
}

TEST_CASE("fields with a comma, quote, CR or LF are quoted and their quotes doubled", "[io][csv]") {
  CHECK(io::csv_field("Litho, new") == "\"Litho, new\"");
  CHECK(io::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(io::csv_field("\"") == "\"\"\"\"");
  CHECK(io::csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(io::csv_field("cr\rhere") == "\"cr\rhere\"");
}

TEST_CASE("a written row reads back field for field, whatever the names hold", "[io][csv]") {
  const std::vector<std::string> names = {"plain",       "a,b", "\"quoted\"", "mixed \"x\", y",
                                          "line\nbreak", "",    " sp "};
  const auto file = temp_file("roundtrip.csv");
  io::CsvWriter w(file);
  for (const auto& n : names) w.field(n);
  w.end_row();
  w.row("second", 2);
  w.close();
  const auto rows = parse_csv(io::read_file(file).value());
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == names);
  CHECK(rows[1] == std::vector<std::string>{"second", "2"});
  std::filesystem::remove(file);
}

TEST_CASE("numbers: shortest round-trip doubles, decimal integers, booleans as 1 and 0", "[io][csv]") {
  const auto file = temp_file("numbers.csv");
  io::CsvWriter w(file);
  w.row(0.1, 25.0, -3, std::uint64_t{18446744073709551615u}, true, false, 1e-7, std::size_t{7});
  w.close();
  CHECK(io::read_file(file).value() == "0.1,25,-3,18446744073709551615,1,0,1e-07,7\n");
  std::filesystem::remove(file);
}

TEST_CASE("many rows are written in blocks and all arrive", "[io][csv]") {
  const auto file = temp_file("many.csv");
  io::CsvWriter w(file);
  for (int i = 0; i < 20000; ++i) w.row(i, "name, with comma");
  w.close();
  const auto rows = parse_csv(io::read_file(file).value());
  REQUIRE(rows.size() == 20000);
  CHECK(rows.back() == std::vector<std::string>{"19999", "name, with comma"});
  std::filesystem::remove(file);
}

TEST_CASE("writing to a full device is an error naming the file", "[io][csv]") {
  if (!std::filesystem::exists("/dev/full")) {
    WARN("no /dev/full on this system");
    return;
  }
  SECTION("a small CSV fails when it is closed") {
    io::CsvWriter w("/dev/full");
    w.row("lot", "product");
    CHECK_THROWS_WITH(w.close(), Catch::Contains("/dev/full") && Catch::Contains("write failed"));
  }
  SECTION("a large CSV fails while it is written") {
    io::CsvWriter w("/dev/full");
    CHECK_THROWS_AS(
        [&] {
          for (int i = 0; i < 100000; ++i) w.row(i, "some text to fill the buffer");
        }(),
        io::OutputError);
  }
  SECTION("an output file fails on close, whatever was written") {
    io::OutputFile f("/dev/full");
    f.write("{}\n");
    try {
      f.close();
      FAIL("close() did not report the full device");
    } catch (const io::OutputError& e) {
      CHECK(e.file() == "/dev/full");
      CHECK(std::string(e.what()).starts_with("/dev/full: "));
    }
  }
  SECTION("write_file returns the error naming the file") {
    const auto r = io::write_file("/dev/full", "bytes");
    REQUIRE(!r.ok());
    CHECK(r.error().file == "/dev/full");
  }
}

TEST_CASE("an output file that cannot be opened is an error naming it", "[io][csv]") {
  const auto file = temp_file("no_such_dir") / "lots.csv";
  CHECK_THROWS_WITH(io::CsvWriter(file), Catch::Contains(file.string()) && Catch::Contains("cannot open"));
}
