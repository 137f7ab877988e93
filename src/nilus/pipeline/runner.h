#pragma once

#include <string>
#include <vector>

#include "nilus/connectors/registry.h"
#include "nilus/core/options.h"
#include "nilus/core/uri.h"
#include "nilus/state/state_store.h"

namespace nilus {

/// One pipeline, resolved and validated: a source table, a destination table and how to move it.
struct Pipeline {
  std::string name;  ///< keys the state: the workflow and node name, the file name, or the dest table
  Uri source;
  Uri destination;
  /// The destination address as written (placeholders kept), remembered by the local state store.
  std::string destination_as_written;
  SourceOptions source_options;
  SinkOptions sink_options;
};

struct RunOptions {
  bool full_refresh = false;
};

/// What one run loaded, for the end-of-run summary.
struct LoadSummary {
  std::string pipeline;
  std::string source_table;
  std::string dest_table;
  std::string strategy;
  std::string load_id;
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;
  /// Time the Normalize stage took (on the extract thread, beside the load).
  double normalize_seconds = 0;
  /// Rows written to each child table (nested arrays), by table name.
  std::vector<std::pair<std::string, int64_t>> child_rows;
};

/// Runs a pipeline once: extract → normalize → load over a bounded queue, then commits data,
/// load record and state in one destination transaction, and copies the state to `store`.
/// Transient failures are retried; a stop request rolls back and returns Cancelled.
Result<LoadSummary> RunPipeline(const Pipeline& pipeline, const RunOptions& options, const ConnectorRegistry& registry,
                                StateStore& store);

/// Checks, for `nilus validate`, that every column `mask` names is a column of the source, when
/// the source can tell its columns without reading data (CSV headers, SQL catalogs).
Status CheckMaskedColumns(const Pipeline& pipeline, const ConnectorRegistry& registry);

/// A new, time-ordered load id: "20261124T110102.123456Z.3fa2".
std::string NewLoadId();

}  // namespace nilus
