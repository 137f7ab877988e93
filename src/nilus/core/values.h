#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nilus {

// Conversions between text and the physical values of the logical types (DESIGN §2.1).
// Parsers return false when the text is not exactly a value of the type: nothing is
// rounded or truncated.

bool ParseBigint(std::string_view s, int64_t* out);
/// Decimal or scientific notation, plus NaN, Infinity, -Infinity.
bool ParseDouble(std::string_view s, double* out);
/// true/false, t/f, yes/no, 1/0 (any case) when `lenient`; only true/false otherwise.
bool ParseBool(std::string_view s, bool* out, bool lenient);
/// A decimal literal ([+-]digits[.digits], or NaN, Infinity, -Infinity); `out` gets its
/// canonical text.
bool ParseDecimal(std::string_view s, std::string* out);
/// The unscaled value of decimal text at `scale`, when it has at most `precision` digits and no
/// more fraction digits than `scale` (nothing is rounded).
bool ParseUnscaled(std::string_view text, int precision, int scale, __int128* out);
/// YYYY-MM-DD -> days since 1970-01-01.
bool ParseDate(std::string_view s, int64_t* days);
/// HH:MM[:SS[.ffffff]] -> microseconds since midnight.
bool ParseTime(std::string_view s, int64_t* micros);
/// ISO-8601 date-time "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH[:MM]]" -> microseconds since the
/// epoch (UTC when a zone is given). `has_zone` says whether it had one.
bool ParseTimestamp(std::string_view s, int64_t* micros, bool* has_zone);
/// 8-4-4-4-12 hex digits (braces and case accepted) -> 16 bytes.
bool ParseUuid(std::string_view s, std::string* bytes16);

std::string FormatDouble(double v);

/// Buffer size that any of the Format…To functions below fits in.
inline constexpr size_t kMaxFormattedValue = 64;
/// Allocation-free forms for hot paths: write into `out`, return the length.
size_t FormatDateTo(int64_t days, char* out);
size_t FormatTimeTo(int64_t micros, char* out);
size_t FormatTimestampTo(int64_t micros, bool zone, char* out);
size_t FormatUuidTo(std::string_view bytes16, char* out);
/// A decimal's unscaled value as text with `scale` digits after the point (0 to 38).
size_t FormatUnscaledTo(__int128 unscaled, int scale, char* out);

std::string FormatDate(int64_t days);
std::string FormatTime(int64_t micros);
/// "YYYY-MM-DD HH:MM:SS[.ffffff]" and, when `zone`, "+00:00".
std::string FormatTimestamp(int64_t micros, bool zone);
std::string FormatUuid(std::string_view bytes16);

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
/// Days since 1970-01-01 -> year, month (1-12), day (1-31).
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);

/// Dates and timestamps may be infinite (PostgreSQL's 'infinity' and '-infinity'): these
/// values stand for them, and format and parse as "infinity" / "-infinity".
inline constexpr int64_t kPlusInfinity = INT64_MAX;
inline constexpr int64_t kMinusInfinity = INT64_MIN;

}  // namespace nilus
