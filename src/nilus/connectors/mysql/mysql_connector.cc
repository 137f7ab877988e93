#include "nilus/connectors/mysql/mysql_connector.h"

#include "nilus/connectors/mysql/mysql_internal.h"

namespace nilus {

Status RegisterMysql(ConnectorRegistry& registry) {
  for (const char* scheme : {"mysql", "mariadb"}) {
    NILUS_RETURN_NOT_OK(registry.AddSource(scheme, OpenMysqlSource,
                                           {.discovers_primary_key = true,
                                            .reads_in_key_order = true,
                                            .options = {"extract-parallelism", "sql-reflection-level", "sql-limit"}}));
    NILUS_RETURN_NOT_OK(registry.AddDestination(scheme, OpenMysqlDestination));
  }
  return Status::OK();
}

}  // namespace nilus
