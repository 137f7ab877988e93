#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

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

/// The destination names of a set of source names (the columns of one table, or the child tables
/// of one root): each gets the name it asks for (its normal form); when that is taken, `_2`, `_3` …
/// is added. Names kept from earlier runs never change. A name that normalisation changed is
/// logged once as a warning.
class NameMap {
 public:
  /// `what` names the set in warnings, e.g. "column of raw.orders".
  explicit NameMap(std::string what = "name") : what_(std::move(what)) {}

  /// Records a mapping from an earlier run.
  void Restore(const std::string& source, const std::string& dest);
  /// Marks a destination name as used by something that is not a source name (a variant
  /// column, a bookkeeping column).
  void Reserve(const std::string& dest) { taken_.insert(dest); }
  /// What a source name asks for: `wanted`, its normal form, and `plain`, the name it would have
  /// if no part of it needed normalising (the source name itself, or its parts joined by `__`).
  struct Request {
    std::string source;
    std::string wanted;
    std::string plain;
  };
  /// The destination names of `requests`, in order. The new ones are resolved together: those
  /// that need no normalising first, so they keep their name.
  std::vector<std::string> ResolveAll(const std::vector<Request>& requests);
  /// The destination name of one source name.
  const std::string& Resolve(const Request& request);

 private:
  std::string what_;
  std::unordered_map<std::string, std::string> names_;  // source -> destination
  std::unordered_set<std::string> taken_;
};

}  // namespace nilus
