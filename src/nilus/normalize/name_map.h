#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "nilus/core/identifiers.h"

namespace nilus {

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
