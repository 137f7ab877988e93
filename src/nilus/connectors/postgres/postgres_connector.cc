#include "nilus/connectors/postgres/postgres_connector.h"

#include "nilus/connectors/postgres/postgres_internal.h"

namespace nilus {

Status RegisterPostgres(ConnectorRegistry& registry) {
  for (const char* scheme : {"postgresql", "postgres"}) {
    NILUS_RETURN_NOT_OK(registry.AddSource(scheme, OpenPostgresSource,
                                           {.discovers_primary_key = true,
                                            .reads_in_key_order = true,
                                            .options = {"extract-parallelism", "sql-reflection-level", "sql-limit"}}));
    NILUS_RETURN_NOT_OK(registry.AddDestination(scheme, OpenPostgresDestination));
  }
  return Status::OK();
}

}  // namespace nilus
