#pragma once

#include <memory>

#include "nilus/connectors/connector.h"
#include "nilus/connectors/sql/sql_destination.h"

namespace nilus {

/// The file path of a `sqlite:///relative.db` or `sqlite:////absolute.db` address.
Result<std::string> SqlitePath(const Uri& uri);

/// The SQLite table that holds `schema.table`: `schema__table`, or `table` for schema `main`.
std::string SqliteTableName(const std::string& schema, const std::string& table);

Result<std::unique_ptr<Source>> OpenSqliteSource(const Uri& uri, std::stop_token stop);
Result<std::unique_ptr<Destination>> OpenSqliteDestination(const Uri& uri, std::stop_token stop);
/// The SQL destination over the SQLite file at `path` (created when missing).
Result<std::unique_ptr<SqlDestination>> OpenSqliteFile(const std::string& path, std::stop_token stop);

}  // namespace nilus
