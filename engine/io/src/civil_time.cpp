#include "fabtwin/io/civil_time.hpp"

#include <cstdio>

namespace fabtwin::io {

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

CivilTime civil_from_unix_ms(std::int64_t ms) {
  constexpr std::int64_t kMsPerDay = 86'400'000;
  std::int64_t z = ms / kMsPerDay;
  std::int64_t rem = ms % kMsPerDay;
  if (rem < 0) {
    rem += kMsPerDay;
    --z;
  }
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  CivilTime t;
  t.day = doy - (153 * mp + 2) / 5 + 1;
  t.month = mp < 10 ? mp + 3 : mp - 9;
  t.year = static_cast<std::int64_t>(yoe) + era * 400 + (t.month <= 2);
  t.hour = static_cast<unsigned>(rem / 3'600'000);
  t.minute = static_cast<unsigned>(rem / 60'000 % 60);
  t.second = static_cast<unsigned>(rem / 1000 % 60);
  t.millisecond = static_cast<unsigned>(rem % 1000);
  return t;
}

std::optional<std::int64_t> unix_ms_from_civil(const CivilTime& t) {
  if (t.year < -1'000'000 || t.year > 1'000'000) return std::nullopt;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month)) return std::nullopt;
  if (t.hour > 23 || t.minute > 59 || t.second > 59 || t.millisecond > 999) return std::nullopt;
  const std::int64_t days = days_from_civil(t.year, t.month, t.day);
  return ((days * 24 + t.hour) * 60 + t.minute) * 60'000 + t.second * 1000 + t.millisecond;
}

std::string format_iso8601(std::int64_t unix_ms) {
  const CivilTime t = civil_from_unix_ms(unix_ms);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", static_cast<long long>(t.year),
                t.month, t.day, t.hour, t.minute, t.second, t.millisecond);
  return buf;
}

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  std::size_t pos = 0;
  auto digits = [&](std::size_t n, unsigned& out) {
    if (pos + n > s.size()) return false;
    unsigned v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const char c = s[pos + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    pos += n;
    out = v;
    return true;
  };
  auto lit = [&](char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
  };
  unsigned year = 0;
  CivilTime t;
  if (!(digits(4, year) && lit('-') && digits(2, t.month) && lit('-') && digits(2, t.day) && lit('T') &&
        digits(2, t.hour) && lit(':') && digits(2, t.minute) && lit(':') && digits(2, t.second)))
    return std::nullopt;
  t.year = year;
  if (lit('.')) {
    std::size_t n = 0;
    unsigned ms = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      const unsigned d = static_cast<unsigned>(s[pos] - '0');
      if (n < 3)
        ms = ms * 10 + d;
      else if (d != 0)
        return std::nullopt;  // finer than a millisecond
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t k = n; k < 3; ++k) ms *= 10;
    t.millisecond = ms;
  }
  lit('Z');
  if (pos != s.size()) return std::nullopt;
  return unix_ms_from_civil(t);
}

}  // namespace fabtwin::io
