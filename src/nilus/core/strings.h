#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nilus {

std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
/// Splits on `sep` outside parentheses, trimming each part and dropping empty parts
/// ("a, b(1,2),," -> {"a", "b(1,2)"}).
std::vector<std::string> SplitList(std::string_view s, char sep = ',');
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

/// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);
/// The candidate closest to `word`, or "" when none is reasonably close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

/// Returns the byte offset of the first invalid UTF-8 sequence, or npos when `s` is valid.
size_t FindInvalidUtf8(std::string_view s);

/// Quotes an SQL identifier: "name", inner quotes doubled (PostgreSQL, SQLite, standard SQL).
std::string QuoteIdent(std::string_view name);
/// Quotes an SQL string literal: 'text', inner quotes doubled.
std::string QuoteLiteral(std::string_view value);

/// Appends `value` as a JSON string literal: quoted, with quotes, backslashes and control
/// characters escaped (the text must be valid UTF-8).
void AppendJsonString(std::string& out, std::string_view value);

/// A short, printable cut of a value for error messages.
std::string Excerpt(std::string_view value, size_t max = 40);

/// A Prometheus label value: backslash, double quote and newline escaped.
std::string PrometheusLabel(std::string_view value);

}  // namespace nilus
