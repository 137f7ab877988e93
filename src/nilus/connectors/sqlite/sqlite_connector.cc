#include "nilus/connectors/sqlite/sqlite_connector.h"

#include "nilus/connectors/sqlite/sqlite_internal.h"

namespace nilus {

Result<std::string> SqlitePath(const Uri& uri) {
  if (!uri.host().empty() || uri.path().size() < 2) {
    return Status::InvalidInput("{}: a SQLite address is sqlite:///relative/path.db or sqlite:////absolute/path.db",
                                uri.Masked());
  }
  return uri.path().substr(1);
}

std::string SqliteTableName(const std::string& schema, const std::string& table) {
  if (schema.empty() || schema == "main") return table;
  return schema + "__" + table;
}

Status RegisterSqlite(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(
      registry.AddSource("sqlite", OpenSqliteSource, {.reads_in_key_order = true, .options = {"sql-limit"}}));
  NILUS_RETURN_NOT_OK(registry.AddDestination("sqlite", OpenSqliteDestination));
  return Status::OK();
}

}  // namespace nilus
