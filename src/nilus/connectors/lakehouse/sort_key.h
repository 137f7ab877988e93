#pragma once

#include <cstdint>
#include <string>

#include "nilus/core/record_batch.h"

namespace nilus::iceberg {

/// Appends to `key` the value of row `r` of `column` (nullptr: a column the batch lacks, so
/// NULL) such that comparing keys byte by byte orders rows as Iceberg's ascending, nulls-first
/// sort order of that column does: numbers by value (decimals by their unscaled value, doubles
/// -NaN < -Infinity < … < Infinity < NaN), text and bytes lexicographically. The keys of
/// several columns, one after the other, order by the first column, then the next.
void AppendSortKey(const Column* column, int64_t r, std::string& key);

}  // namespace nilus::iceberg
