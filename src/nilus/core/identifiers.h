#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nilus {

/// The longest table or column name Nilus writes: PostgreSQL's limit, so that a name is the same
/// in every destination.
inline constexpr size_t kMaxIdentifierLength = 63;

/// The separator of nested names: `user__address__city` is `city` inside `address` inside `user`,
/// `orders__items` the child table of the `items` arrays of `orders`.
inline constexpr std::string_view kNestingSeparator = "__";

/// The snake_case form of a source name (docs/schema-evolution.md, "Identifiers"): camelCase is
/// split, letters are lower-cased, every run of characters outside [a-z0-9_] becomes one `_`,
/// runs of `_` become one (`__` is reserved for nesting), a trailing `_` is dropped (a leading one
/// only when the source name did not start with `_`), a leading digit gets a `_` prefix, an empty
/// result is `unnamed`, and a name longer than kMaxIdentifierLength is shortened with a hash tag.
std::string NormalizeIdentifier(std::string_view name);

/// A column as options name it (`mask`, `type-hints`, keys): each `__`-separated part normalised,
/// so `userId` and `user_id` name the same column, and `user__email` the nested one.
std::string NormalizeColumnName(std::string_view name);

/// `name` cut to `max_length` bytes, ending in `_` and 8 hex digits of its SHA-256 when it is
/// longer, so distinct long names stay distinct and the same name always shortens the same way.
std::string ShortenIdentifier(std::string_view name, size_t max_length = kMaxIdentifierLength);

/// `parent__child`, shortened when too long.
std::string NestedName(std::string_view parent, std::string_view child);

}  // namespace nilus
