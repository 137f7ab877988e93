#include "nilus/connectors/postgres/postgres_connector.h"

#include "nilus/connectors/postgres/postgres_internal.h"

namespace nilus {

Status RegisterPostgres(ConnectorRegistry& registry) {
  for (const char* scheme : {"postgresql", "postgres"}) {
    NILUS_RETURN_NOT_OK(registry.AddSource(
        scheme, OpenPostgresSource,
        {.discovers_primary_key = true,
         .reads_in_key_order = true,
         .options = {"extract-parallelism", "sql-reflection-level", "sql-limit",
                     // change data capture
                     "engine", "slot.name", "publication.name", "plugin.name", "topic.prefix", "table.include.list",
                     "table.exclude.list", "schema.include.list", "schema.exclude.list", "column.include.list",
                     "column.exclude.list", "snapshot.mode", "heartbeat.interval.ms", "max.batch.size",
                     "poll.interval.ms", "include.schema.changes", "time.precision.mode", "decimal.handling.mode",
                     "include.unknown.datatypes"},
         .change_capture = OpenPostgresChangeSource,
         .check_change_options = CheckPostgresChangeOptions}));
    NILUS_RETURN_NOT_OK(registry.AddDestination(scheme, OpenPostgresDestination));
  }
  return Status::OK();
}

}  // namespace nilus
