#include "nilus/connectors/sqlite/sqlite_connector.h"

#include "nilus/connectors/sqlite/sqlite_internal.h"

namespace nilus {

Status RegisterSqlite(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(registry.AddSource("sqlite", OpenSqliteSource));
  NILUS_RETURN_NOT_OK(registry.AddDestination("sqlite", OpenSqliteDestination));
  return Status::OK();
}

}  // namespace nilus
