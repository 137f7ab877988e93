#include "nilus/connectors/connector.h"

namespace nilus {

Status CheckMergeKeys(const TableSpec& spec, const RecordBatch& batch) {
  for (const auto& key : spec.primary_key) {
    int i = batch.schema().FieldIndex(key);
    if (i < 0) {
      return Status::InvalidInput("primary-key column '{}' is not a column of {}; its columns are: {}", key,
                                  spec.qualified(), batch.schema().ToString());
    }
    if (int64_t nulls = batch.column(static_cast<size_t>(i)).null_count(); nulls > 0) {
      return Status::InvalidInput(
          "primary-key column '{}' of {} is NULL in {} row(s) of a batch; a merge needs every key set: fix those "
          "rows in the source or choose another primary-key",
          key, spec.qualified(), nulls);
    }
  }
  return Status::OK();
}

}  // namespace nilus
