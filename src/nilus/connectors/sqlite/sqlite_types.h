#pragma once

#include <string>

#include "nilus/core/types.h"

namespace nilus {

// The one mapping between logical types and SQLite declared types, both ways. Values that
// SQLite's type affinity could alter (decimals, JSON) go to columns whose declared type has
// TEXT affinity, so they are stored exactly as given.

/// BIGINT, DOUBLE, BOOLEAN, DECIMAL_TEXT(p,s), TEXT, BLOB, DATE, TIME, TIMESTAMP, TIMESTAMPTZ,
/// JSON_TEXT, UUID.
std::string SqliteDeclaredType(const LogicalType& type);

/// The logical type of a declared column type, by Nilus's names first and SQLite's affinity
/// rules otherwise. An empty declaration yields `fallback`.
LogicalType LogicalTypeOfDeclared(const std::string& declared, const LogicalType& fallback);

}  // namespace nilus
