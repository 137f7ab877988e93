#pragma once

#include <libpq-fe.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nilus/core/sqlite_db.h"
#include "nilus/core/status.h"

namespace nilus {

/// The run history in PostgreSQL (NILUS_METADATA_URI): the same tables as the local one, with
/// PostgreSQL's types (timestamptz, jsonb, boolean), created when missing. The local history is
/// its spool: runs are copied from it by run_id (a copy that already arrived is skipped), and
/// nilus serve copies the runs others recorded into its own.
class RemoteHistory {
 public:
  /// Connects to `uri` (postgresql://…; 5 s to connect) and creates the tables when missing.
  static Result<std::unique_ptr<RemoteHistory>> Connect(const std::string& uri);
  ~RemoteHistory();

  /// Copies the runs `run_ids` (and their stages) from `local` in one transaction, each at most
  /// once, and removes the remote runs older than `retention_days`.
  Status Export(SqliteDb& local, const std::vector<std::string>& run_ids, int retention_days);
  /// The local cdc_status row of `pipeline`, as it is now.
  Status ExportCdc(SqliteDb& local, const std::string& pipeline);

  /// The runs recorded after remote id `after`, at most `limit`, with their stages: per table
  /// (runs_info, extract_info, normalize_info, load_info), rows of text values (null: SQL NULL)
  /// in the local columns' order; runs_info's first value is the remote id.
  struct Batch {
    std::vector<std::vector<nlohmann::json>> runs, extract, normalize, load;
  };
  Result<Batch> RunsAfter(int64_t after, int limit);
  /// Every remote cdc_status row, in the local columns' order.
  Result<std::vector<std::vector<nlohmann::json>>> CdcStatuses();

 private:
  explicit RemoteHistory(PGconn* conn, std::string where) : conn_(conn), where_(std::move(where)) {}
  Result<std::vector<std::vector<nlohmann::json>>> Query(const std::string& sql,
                                                         const std::vector<std::string>& params);
  Status Exec(const std::string& sql, const std::vector<const char*>& params = {});

  PGconn* conn_;
  std::string where_;  ///< the address, masked, for messages
};

}  // namespace nilus
