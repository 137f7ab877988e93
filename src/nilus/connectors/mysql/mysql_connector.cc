#include "nilus/connectors/mysql/mysql_connector.h"

#include "nilus/connectors/mysql/mysql_internal.h"

namespace nilus {

Status RegisterMysql(ConnectorRegistry& registry) {
  for (const char* scheme : {"mysql", "mariadb"}) {
    NILUS_RETURN_NOT_OK(registry.AddSource(
        scheme, OpenMysqlSource,
        {.discovers_primary_key = true,
         .reads_in_key_order = true,
         .options = {"extract-parallelism", "sql-reflection-level", "sql-limit",
                     // change data capture
                     "engine", "database.server.id", "topic.prefix", "database.include.list", "database.exclude.list",
                     "table.include.list", "table.exclude.list", "column.include.list", "column.exclude.list",
                     "snapshot.mode", "heartbeat.interval.ms", "max.batch.size", "poll.interval.ms",
                     "include.schema.changes", "time.precision.mode", "decimal.handling.mode"},
         .change_capture = OpenMysqlChangeSource,
         .check_change_options = CheckMysqlChangeOptions}));
    NILUS_RETURN_NOT_OK(registry.AddDestination(scheme, OpenMysqlDestination));
  }
  return Status::OK();
}

}  // namespace nilus
