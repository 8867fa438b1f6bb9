#pragma once
// Calendar arithmetic without time-zone functions: proleptic Gregorian calendar, UTC, no leap
// seconds. Instants are milliseconds since 1970-01-01T00:00:00Z ("unix ms").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fabtwin::io {

// Days since 1970-01-01 of year/month/day (month 1..12, day 1..31; not range-checked).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
// Days in `month` (1..12) of `year`.
unsigned days_in_month(std::int64_t year, unsigned month);

struct CivilTime {
  std::int64_t year = 1970;
  unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0, millisecond = 0;
};
CivilTime civil_from_unix_ms(std::int64_t unix_ms);
// Unix ms of a civil time; nullopt when a field is out of range (month 13, Feb 30, minute 60, ...).
std::optional<std::int64_t> unix_ms_from_civil(const CivilTime& t);

// Unix ms of years 0000..9999 (what format_iso8601 can write).
inline constexpr std::int64_t kIsoMinUnixMs = -62167219200000;  // 0000-01-01T00:00:00.000Z
inline constexpr std::int64_t kIsoMaxUnixMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

// "2018-01-03T06:19:32.000Z"; requires kIsoMinUnixMs <= unix_ms <= kIsoMaxUnixMs.
std::string format_iso8601(std::int64_t unix_ms);
// Reads "YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z]" (UTC); the fraction must be whole milliseconds.
// nullopt on anything else.
std::optional<std::int64_t> parse_iso8601(std::string_view s);

}  // namespace fabtwin::io
