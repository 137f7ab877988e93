#pragma once

#include <stop_token>
#include <string>

#include "nilus/core/status.h"
#include "nilus/manager/scheduler.h"

namespace nilus {

/// What `nilus serve` listens on and with which credentials.
struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 9010;
  /// The bearer token every /api request must carry (NILUS_API_TOKEN); empty: none, which is
  /// allowed on a loopback address only.
  std::string token;
  std::string home;  ///< $NILUS_HOME, where the run history is
  int retention_days = 90;
  std::string metadata_uri;  ///< NILUS_METADATA_URI: the history to read, copied into the local one
};

/// Parses --listen: "HOST:PORT", ":PORT" or "PORT".
Result<ServeOptions> ParseListen(const std::string& listen, ServeOptions base);

/// Serves the manager's API over the run history until `stop` is requested: /health, /info,
/// /openapi.json, /metrics, /api/v1/pipelines (filters and paging), /api/v1/pipelines/stats,
/// /api/v1/pipelines/{id}/runs|latest|stats, and with a `scheduler` (which it runs, once it
/// listens, until `stop`) /api/v1/scheduler and POST /api/v1/pipelines/{id}/run. JSON bodies;
/// errors as {"error", "status"}.
Status Serve(const ServeOptions& options, Scheduler* scheduler, std::stop_token stop);

}  // namespace nilus
