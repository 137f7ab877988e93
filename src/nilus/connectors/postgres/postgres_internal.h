#pragma once

#include <memory>

#include "nilus/connectors/connector.h"
#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/connectors/sql/sql_destination.h"

namespace nilus {

/// One column of a PostgreSQL table or query, as the catalog describes it.
struct PgColumn {
  std::string name;
  PgColumnType type;
  std::string plain_type;  ///< the type without modifiers: numeric, character varying …
};

/// The columns of table `qualified` ("schema"."table"), in order.
Result<std::vector<PgColumn>> PgTableColumns(PgConnection& conn, const std::string& qualified);

/// The primary key's columns of table `qualified`, in key order; empty when it has none.
Result<std::vector<std::string>> PgPrimaryKey(PgConnection& conn, const std::string& qualified);

/// Reads the `COPY (SELECT <columns> …) TO STDOUT (FORMAT binary)` that `conn` has started, in
/// batches of at most `page_size` rows; `what` names the table in messages.
std::unique_ptr<BatchReader> NewCopyReader(std::shared_ptr<PgConnection> conn, const std::vector<PgColumn>& columns,
                                           std::string what, int64_t page_size);

/// Up to `n` WHERE terms that cut table `qualified` into ranges of similar size, for reading it
/// in parallel, computed in `conn`'s current transaction: by a one-column integer primary key
/// when it has one, by ctid block ranges otherwise. Fewer than two: read it whole.
Result<std::vector<std::string>> PgTableRanges(PgConnection& conn, const std::string& qualified, int n);

/// Runs each of `copies` (COPY (SELECT <columns> …) TO STDOUT (FORMAT binary)) on a connection
/// of its own inside the exported `snapshot`, and yields their batches as one stream.
/// `keep_alive` is held until the reader is destroyed (the transaction that exported the snapshot).
Result<std::unique_ptr<BatchReader>> NewRangedCopyReader(const Uri& uri, std::stop_token stop,
                                                         const std::string& snapshot,
                                                         const std::vector<std::string>& copies,
                                                         const std::vector<PgColumn>& columns, const std::string& what,
                                                         int64_t page_size, std::shared_ptr<void> keep_alive);

Result<std::unique_ptr<Source>> OpenPostgresSource(const Uri& uri, std::stop_token stop);
Result<std::unique_ptr<Destination>> OpenPostgresDestination(const Uri& uri, std::stop_token stop);
/// The SQL destination over the PostgreSQL database of `uri`.
Result<std::unique_ptr<SqlDestination>> OpenPostgresSql(const Uri& uri, std::stop_token stop);
Result<std::unique_ptr<ChangeSource>> OpenPostgresChangeSource(const Uri& uri, std::stop_token stop);
/// Checks the change-capture options of a PostgreSQL source (`nilus validate`).
Status CheckPostgresChangeOptions(const SourceOptions& options);

}  // namespace nilus
