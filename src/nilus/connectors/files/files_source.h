#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers the files source: `file://` (format from the extension), `csv://`, `jsonl://`,
/// `parquet://`.
Status RegisterFiles(ConnectorRegistry& registry);

/// The files source for `uri`; for `s3://bucket/key` (Parquet files of a bucket), the lakehouse
/// module registers the scheme and opens this for keys.
Result<std::unique_ptr<Source>> OpenFilesSource(const Uri& uri, std::stop_token stop);

}  // namespace nilus
