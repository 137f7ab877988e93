#pragma once

#include <memory>

#include "nilus/connectors/connector.h"
#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pg_types.h"

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

Result<std::unique_ptr<Source>> OpenPostgresSource(const Uri& uri, std::stop_token stop);
Result<std::unique_ptr<Destination>> OpenPostgresDestination(const Uri& uri, std::stop_token stop);
Result<std::unique_ptr<ChangeSource>> OpenPostgresChangeSource(const Uri& uri, std::stop_token stop);
/// Checks the change-capture options of a PostgreSQL source (`nilus validate`).
Status CheckPostgresChangeOptions(const SourceOptions& options);

}  // namespace nilus
