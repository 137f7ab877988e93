#include "nilus/manager/api_server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/state/run_history.h"
#include "nilus/state/state_store.h"

namespace nilus {

/// The status page (status_page.html, built into the binary by cmake/embed_text.cmake).
extern const char kStatusPage[];

namespace {

constexpr char kJson[] = "application/json";

void Reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

void Error(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, {{"error", message}, {"status", status}});
}

bool IsLoopback(const std::string& host) { return host == "127.0.0.1" || host == "::1" || host == "localhost"; }

/// The paths and their parameters, as an OpenAPI 3 document.
nlohmann::json OpenApi() {
  auto param = [](const char* name, const char* in, const char* type, const char* what) {
    return nlohmann::json{{"name", name}, {"in", in}, {"schema", {{"type", type}}}, {"description", what}};
  };
  auto ok = [](const char* what) {
    return nlohmann::json{{"200", {{"description", what}, {"content", {{kJson, nlohmann::json::object()}}}}}};
  };
  nlohmann::json filters = {param("run_as_user", "query", "string", "who ran it"),
                            param("is_success", "query", "boolean", "true or false"),
                            param("dataos_resource_id", "query", "string", "the pipeline"),
                            param("started_at_gte", "query", "string", "ISO 8601"),
                            param("started_at_lte", "query", "string", "ISO 8601"),
                            param("limit", "query", "integer", "1 to 1000, 50 by default"),
                            param("offset", "query", "integer", "rows to skip")};
  nlohmann::json id = {param("id", "path", "string", "the pipeline (dataos_resource_id)")};
  nlohmann::json period = {param("period", "query", "string", "7d, 24h, 30d …; 30d by default")};
  nlohmann::json pipeline = {param("pipeline", "query", "string", "one pipeline")};
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "Nilus Manager API"}, {"version", NILUS_VERSION}}},
          {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"security", nlohmann::json::array({{{"bearer", nlohmann::json::array()}}})},
          {"paths",
           {{"/", {{"get", {{"summary", "the status page (HTML)"}, {"responses", ok("the page")}}}}},
            {"/health", {{"get", {{"summary", "liveness"}, {"responses", ok("ok")}}}}},
            {"/info", {{"get", {{"summary", "the server"}, {"responses", ok("name and version")}}}}},
            {"/metrics", {{"get", {{"summary", "Prometheus text format"}, {"responses", ok("metrics")}}}}},
            {"/api/v1/pipelines", {{"get", {{"summary", "runs"}, {"parameters", filters}, {"responses", ok("runs")}}}}},
            {"/api/v1/pipelines/stats",
             {{"get", {{"summary", "per pipeline"}, {"parameters", period}, {"responses", ok("stats")}}}}},
            {"/api/v1/pipelines/{id}/runs",
             {{"get", {{"summary", "a pipeline's runs"}, {"parameters", id}, {"responses", ok("runs")}}}}},
            {"/api/v1/pipelines/{id}/latest",
             {{"get", {{"summary", "its last run"}, {"parameters", id}, {"responses", ok("a run")}}}}},
            {"/api/v1/pipelines/{id}/stats",
             {{"get", {{"summary", "its stats"}, {"parameters", id}, {"responses", ok("stats")}}}}},
            {"/api/v1/pipelines/{id}/run",
             {{"post",
               {{"summary", "start a run now (nilus serve --manifests); id: a manifest or one of its pipelines"},
                {"parameters", id},
                {"responses",
                 {{"202", {{"description", "started (or starting, once the run it replaces has stopped)"}}},
                  {"404", {{"description", "no such manifest or pipeline"}}},
                  {"409", {{"description", "cannot run now: Forbid and running, a running service, a bad manifest"}}},
                  {"503", {{"description", "this server runs no pipelines, or is stopping"}}}}}}}}},
            {"/api/v1/cdc/status",
             {{"get",
               {{"summary", "each change-data-capture service: position, changes applied, lag"},
                {"responses", ok("services")}}}}},
            {"/api/v1/cdc/offset-storage",
             {{"get",
               {{"summary", "the committed source position of each CDC pipeline"},
                {"parameters", pipeline},
                {"responses", ok("offsets")}}}}},
            {"/api/v1/cdc/offset-keys",
             {{"get",
               {{"summary", "the state keys of the CDC pipelines and their positions' fields"},
                {"parameters", pipeline},
                {"responses", ok("keys")}}}}},
            {"/api/v1/cdc/schema-history",
             {{"get",
               {{"summary", "each captured table's schema version and its changes"},
                {"parameters", pipeline},
                {"responses", ok("schemas")}}}}},
            {"/api/v1/scheduler",
             {{"get", {{"summary", "the manifests nilus serve --manifests runs"}, {"responses", ok("manifests")}}}}}}}};
}

/// A query's integer parameter within [lo, hi], or an error naming it.
Result<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  if (!req.has_param(name)) return fallback;
  int64_t v = 0;
  const std::string text = req.get_param_value(name);
  if (!ParseBigint(text, &v) || v < lo || v > hi) {
    return Status::InvalidInput("{}={} must be a whole number from {} to {}", name, text, lo, hi);
  }
  return v;
}

/// `period` as days: 7d, 24h (rounded up to days), 30d by default.
Result<int64_t> PeriodDays(const httplib::Request& req) {
  if (!req.has_param("period")) return 30;
  const std::string p = req.get_param_value("period");
  int64_t n = 0;
  if (p.size() >= 2 && ParseBigint(p.substr(0, p.size() - 1), &n) && n > 0) {
    if (p.back() == 'd') return n;
    if (p.back() == 'h') return (n + 23) / 24;
    if (p.back() == 'w') return n * 7;
  }
  return Status::InvalidInput("period={} must be a number of hours, days or weeks: 24h, 7d, 4w", p);
}

/// The metrics in Prometheus's text format: the run history's counts, the change-data-capture
/// services' last reports (`cdc`, as RunHistory::CdcStatuses gives them), and the process's.
std::string Metrics(const RunTotals& t, const nlohmann::json& cdc, double start_time) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("nilus_runs_total", "counter", "Runs of each pipeline in the run history, by outcome.");
  for (const auto& p : t.pipelines) {
    out += fmt::format("nilus_runs_total{{pipeline=\"{}\",outcome=\"success\"}} {}\n", PrometheusLabel(p.name),
                       p.successes);
    out += fmt::format("nilus_runs_total{{pipeline=\"{}\",outcome=\"failure\"}} {}\n", PrometheusLabel(p.name),
                       p.failures);
  }
  family("nilus_rows_loaded_total", "counter", "Rows loaded, by pipeline and destination table.");
  for (const auto& r : t.tables) {
    out += fmt::format("nilus_rows_loaded_total{{pipeline=\"{}\",table=\"{}\"}} {}\n", PrometheusLabel(r.pipeline),
                       PrometheusLabel(r.table), r.rows);
  }
  family("nilus_bytes_loaded_total", "counter", "Bytes loaded, by pipeline and destination table.");
  for (const auto& r : t.tables) {
    out += fmt::format("nilus_bytes_loaded_total{{pipeline=\"{}\",table=\"{}\"}} {:.0f}\n", PrometheusLabel(r.pipeline),
                       PrometheusLabel(r.table), r.bytes);
  }
  family("nilus_run_duration_seconds", "histogram", "How long runs took.");
  for (const auto& p : t.pipelines) {
    for (size_t i = 0; i < p.buckets.size(); ++i) {
      out += fmt::format("nilus_run_duration_seconds_bucket{{pipeline=\"{}\",le=\"{}\"}} {}\n", PrometheusLabel(p.name),
                         kDurationBuckets[i], p.buckets[i]);
    }
    const int64_t count = p.successes + p.failures;
    out += fmt::format("nilus_run_duration_seconds_bucket{{pipeline=\"{}\",le=\"+Inf\"}} {}\n", PrometheusLabel(p.name),
                       count);
    out +=
        fmt::format("nilus_run_duration_seconds_sum{{pipeline=\"{}\"}} {}\n", PrometheusLabel(p.name), p.duration_sum);
    out += fmt::format("nilus_run_duration_seconds_count{{pipeline=\"{}\"}} {}\n", PrometheusLabel(p.name), count);
  }
  family("nilus_retries_total", "counter", "Attempts repeated after a transient failure, by pipeline.");
  for (const auto& p : t.pipelines) {
    out += fmt::format("nilus_retries_total{{pipeline=\"{}\"}} {}\n", PrometheusLabel(p.name), p.retries);
  }
  family("nilus_last_run_timestamp_seconds", "gauge", "When each pipeline's last run ended.");
  for (const auto& p : t.pipelines) {
    out += fmt::format("nilus_last_run_timestamp_seconds{{pipeline=\"{}\"}} {:.3f}\n", PrometheusLabel(p.name),
                       p.last_finished);
  }
  family("nilus_last_run_success", "gauge", "1 when each pipeline's last run succeeded.");
  for (const auto& p : t.pipelines) {
    out +=
        fmt::format("nilus_last_run_success{{pipeline=\"{}\"}} {}\n", PrometheusLabel(p.name), p.last_success ? 1 : 0);
  }
  auto cdc_family = [&](const char* name, const char* type, const char* help, const char* field) {
    family(name, type, help);
    for (const auto& c : cdc) {
      if (c[field].is_null()) continue;
      out += fmt::format("{}{{pipeline=\"{}\"}} {}\n", name, PrometheusLabel(c.value("pipeline", "")), c[field].dump());
    }
  };
  cdc_family("nilus_cdc_changes_applied_total", "counter", "Changes a change-data-capture service has committed.",
             "changes_applied");
  cdc_family("nilus_cdc_lag_seconds", "gauge",
             "Seconds since the source committed the last change applied (0 when caught up).", "lag_seconds");
  cdc_family("nilus_cdc_lag_bytes", "gauge", "Bytes of the source's log beyond the committed position.", "lag_bytes");
  family("nilus_cdc_streaming", "gauge", "1 while a change-data-capture service streams (it reports every 5 s).");
  for (const auto& c : cdc) {
    out += fmt::format("nilus_cdc_streaming{{pipeline=\"{}\"}} {}\n", PrometheusLabel(c.value("pipeline", "")),
                       c.value("state", "") == "streaming" ? 1 : 0);
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const double cpu = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                     static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  family("process_cpu_seconds_total", "counter", "CPU time of the nilus serve process.");
  out += fmt::format("process_cpu_seconds_total {:.3f}\n", cpu);
  family("process_resident_memory_bytes", "gauge", "Resident memory of the nilus serve process.");
  out += fmt::format("process_resident_memory_bytes {}\n", resident * sysconf(_SC_PAGESIZE));
  family("process_start_time_seconds", "gauge", "When the process started, seconds since 1970.");
  out += fmt::format("process_start_time_seconds {:.3f}\n", start_time);
  return out;
}

Result<RunQuery> QueryOf(const httplib::Request& req) {
  RunQuery q;
  q.run_as_user = req.get_param_value("run_as_user");
  q.pipeline = req.get_param_value("dataos_resource_id");
  q.started_gte = req.get_param_value("started_at_gte");
  q.started_lte = req.get_param_value("started_at_lte");
  if (req.has_param("started_at")) q.started_gte = q.started_lte = req.get_param_value("started_at");
  if (req.has_param("is_success")) {
    const std::string v = ToLower(req.get_param_value("is_success"));
    if (v != "true" && v != "false") return Status::InvalidInput("is_success={} must be true or false", v);
    q.is_success = v == "true";
  }
  NILUS_ASSIGN_OR_RAISE(q.limit, IntParam(req, "limit", 50, 1, 1000));
  NILUS_ASSIGN_OR_RAISE(q.offset, IntParam(req, "offset", 0, 0, INT64_MAX));
  return q;
}

}  // namespace

Result<ServeOptions> ParseListen(const std::string& listen, ServeOptions base) {
  std::string host = base.host, port = listen;
  if (size_t colon = listen.rfind(':'); colon != std::string::npos) {
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) host = base.host;
  }
  int64_t p = 0;
  if (!ParseBigint(port, &p) || p < 1 || p > 65535) {
    return Status::InvalidInput("--listen {}: give HOST:PORT (127.0.0.1:9010), :PORT or PORT, the port from 1 to 65535",
                                listen);
  }
  base.host = host;
  base.port = static_cast<int>(p);
  return base;
}

Status Serve(const ServeOptions& o, Scheduler* scheduler, std::stop_token stop) {
  if (o.token.empty() && !IsLoopback(o.host)) {
    return Status::InvalidInput(
        "nilus serve refuses to listen on {} without a token: anyone who reaches it would read the run history. Set "
        "NILUS_API_TOKEN, or listen on 127.0.0.1",
        o.host);
  }
  NILUS_ASSIGN_OR_RAISE(auto history, RunHistory::Open(o.home, o.retention_days, o.metadata_uri));
  // With a remote history, what others recorded is copied in before answering (every 2 s at most).
  auto last_pull = std::chrono::steady_clock::now() - std::chrono::hours(1);
  auto pull = [&] {
    if (o.metadata_uri.empty() || std::chrono::steady_clock::now() - last_pull < std::chrono::seconds(2)) return;
    last_pull = std::chrono::steady_clock::now();
    if (Status st = history->Pull(); !st.ok()) {
      spdlog::warn("answering from the local history: {}", MaskSecrets(st.message()));
    }
  };
  NILUS_ASSIGN_OR_RAISE(auto store, StateStore::Open(o.home));
  std::mutex mu;  // the history's connection, one request at a time
  httplib::Server server;
  const nlohmann::json openapi = OpenApi();

  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    // The status page holds no data (it asks the API, with the token): open, as /health is.
    if (o.token.empty() || req.path == "/health" || req.path == "/") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string header = req.get_header_value("Authorization");
    const std::string expected = "Bearer " + o.token;
    const bool ok =
        header.size() == expected.size() && CRYPTO_memcmp(header.data(), expected.data(), header.size()) == 0;
    if (ok) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    Error(res, 401, "a valid bearer token is required (Authorization: Bearer <NILUS_API_TOKEN>)");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) Error(res, res.status, fmt::format("{} {}: not found", req.method, req.path));
  });
  // Runs `answer` on the history, turning its errors into JSON ones.
  auto with_history = [&](httplib::Response& res, const std::function<Result<nlohmann::json>(RunHistory&)>& answer) {
    std::lock_guard lock(mu);
    pull();
    auto body = answer(*history);
    if (!body.ok()) {
      Error(res, body.status().code() == StatusCode::kInvalidInput ? 400 : 500, body.status().message());
      return;
    }
    Reply(res, 200, *body);
  };

  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    // Nothing but this server: no external script, style, font or image.
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'");
    res.set_header("Cache-Control", "no-cache");
    res.set_content(kStatusPage, "text/html; charset=utf-8");
  });
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) { Reply(res, 200, {{"status", "ok"}}); });
  server.Get("/info", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"name", "nilus"}, {"version", NILUS_VERSION}, {"api", "v1"}, {"auth", !o.token.empty()}});
  });
  const double start_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mu);
    pull();
    auto totals = history->Totals();
    if (!totals.ok()) return Error(res, 500, totals.status().message());
    auto cdc = history->CdcStatuses();
    if (!cdc.ok()) return Error(res, 500, cdc.status().message());
    res.set_content(Metrics(*totals, *cdc, start_time) + (scheduler ? scheduler->Metrics() : ""),
                    "text/plain; version=0.0.4");
  });
  server.Get("/api/v1/cdc/status", [&](const httplib::Request&, httplib::Response& res) {
    with_history(res, [&](RunHistory& h) -> Result<nlohmann::json> {
      NILUS_ASSIGN_OR_RAISE(nlohmann::json items, h.CdcStatuses());
      return nlohmann::json{{"items", std::move(items)}};
    });
  });
  // The committed state of the change-data-capture pipelines (the local copy, at most 5 s behind
  // the destination's), in three views.
  auto cdc_view = [&](const char* path, const std::function<void(const StateEntry&, nlohmann::json&)>& add) {
    server.Get(path, [&, add](const httplib::Request& req, httplib::Response& res) {
      with_history(res, [&](RunHistory& h) -> Result<nlohmann::json> {
        NILUS_ASSIGN_OR_RAISE(nlohmann::json statuses, h.CdcStatuses());
        NILUS_ASSIGN_OR_RAISE(auto entries, store->List(req.get_param_value("pipeline")));
        nlohmann::json items = nlohmann::json::array();
        for (const auto& e : entries) {
          const bool cdc = std::any_of(statuses.begin(), statuses.end(),
                                       [&](const nlohmann::json& s) { return s.value("pipeline", "") == e.pipeline; });
          if (cdc) add(e, items);
        }
        return nlohmann::json{{"items", std::move(items)}};
      });
    });
  };
  cdc_view("/api/v1/cdc/offset-storage", [](const StateEntry& e, nlohmann::json& items) {
    items.push_back({{"pipeline", e.pipeline},
                     {"key", e.table},
                     {"position", e.state.value("source", nlohmann::json())},
                     {"load_id", e.load_id},
                     {"updated_at", e.updated_at}});
  });
  cdc_view("/api/v1/cdc/offset-keys", [](const StateEntry& e, nlohmann::json& items) {
    nlohmann::json fields = nlohmann::json::array();
    const nlohmann::json position = e.state.value("source", nlohmann::json::object());
    for (const auto& [k, v] : position.items()) fields.push_back(k);
    items.push_back({{"pipeline", e.pipeline}, {"key", e.table}, {"fields", fields}});
  });
  cdc_view("/api/v1/cdc/schema-history", [](const StateEntry& e, nlohmann::json& items) {
    const nlohmann::json tables = e.state.value("tables", nlohmann::json::object());
    for (const auto& [table, t] : tables.items()) {
      nlohmann::json schema = t.value("schema", nlohmann::json::object());
      items.push_back({{"pipeline", e.pipeline},
                       {"table", table},
                       {"version", schema.value("version", 0)},
                       {"load_id", schema.value("load_id", "")},
                       {"changes", schema.value("changes", nlohmann::json::array())},
                       {"tables", schema.value("tables", nlohmann::json::array())}});
    }
  });
  server.Get("/api/v1/scheduler", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200,
          scheduler ? scheduler->Describe() : nlohmann::json{{"folder", nullptr}, {"items", nlohmann::json::array()}});
  });
  // With a content reader, so that the body (there is none) is not read first: a POST without
  // Content-Length (`curl -X POST URL`) is then answered rather than refused.
  server.Post(R"(/api/v1/pipelines/([^/]+)/run)",
              [&](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader&) {
                if (!scheduler)
                  return Error(res, 503, "this nilus serve runs no pipelines; start it with --manifests DIR");
                auto started = scheduler->Trigger(req.matches[1]);
                if (started.ok()) return Reply(res, 202, *started);
                switch (started.status().code()) {
                  case StatusCode::kNotFound:
                    return Error(res, 404, started.status().message());
                  case StatusCode::kFailedPrecondition:
                    return Error(res, 409, started.status().message());
                  case StatusCode::kUnavailable:
                    return Error(res, 503, started.status().message());
                  default:
                    return Error(res, 500, started.status().message());
                }
              });
  server.Get("/openapi.json", [&](const httplib::Request&, httplib::Response& res) { Reply(res, 200, openapi); });
  server.Get("/api/v1/pipelines", [&](const httplib::Request& req, httplib::Response& res) {
    with_history(res, [&](RunHistory& h) -> Result<nlohmann::json> {
      NILUS_ASSIGN_OR_RAISE(RunQuery q, QueryOf(req));
      return h.Runs(q);
    });
  });
  server.Get("/api/v1/pipelines/stats", [&](const httplib::Request& req, httplib::Response& res) {
    with_history(res, [&](RunHistory& h) -> Result<nlohmann::json> {
      NILUS_ASSIGN_OR_RAISE(int64_t days, PeriodDays(req));
      NILUS_ASSIGN_OR_RAISE(nlohmann::json stats, h.Stats("", days));
      return nlohmann::json{{"period_days", days}, {"pipelines", std::move(stats)}};
    });
  });
  server.Get(R"(/api/v1/pipelines/([^/]+)/runs)", [&](const httplib::Request& req, httplib::Response& res) {
    with_history(res, [&](RunHistory& h) -> Result<nlohmann::json> {
      NILUS_ASSIGN_OR_RAISE(RunQuery q, QueryOf(req));
      q.pipeline = req.matches[1];
      return h.Runs(q);
    });
  });
  server.Get(R"(/api/v1/pipelines/([^/]+)/latest)", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    pull();
    RunQuery q;
    q.pipeline = req.matches[1];
    q.limit = 1;
    auto runs = history->Runs(q);
    if (!runs.ok()) return Error(res, 500, runs.status().message());
    if ((*runs)["items"].empty()) return Error(res, 404, fmt::format("pipeline {} has no recorded run", q.pipeline));
    Reply(res, 200, (*runs)["items"][0]);
  });
  server.Get(R"(/api/v1/pipelines/([^/]+)/stats)", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    pull();
    auto days = PeriodDays(req);
    if (!days.ok()) return Error(res, 400, days.status().message());
    auto stats = history->Stats(req.matches[1], *days);
    if (!stats.ok()) return Error(res, 500, stats.status().message());
    if (stats->empty()) {
      return Error(res, 404,
                   fmt::format("pipeline {} has no run in the last {} days", std::string(req.matches[1]), *days));
    }
    nlohmann::json one = (*stats)[0];
    one["period_days"] = *days;
    Reply(res, 200, one);
  });

  if (!server.bind_to_port(o.host.c_str(), o.port)) {
    return Status::InvalidInput("nilus serve cannot listen on {}:{} (in use, or not an address of this machine)",
                                o.host, o.port);
  }
  std::stop_callback on_stop(stop, [&] { server.stop(); });
  spdlog::info("serving the Nilus Manager API on http://{}:{} ({})", o.host, o.port,
               o.token.empty() ? "no token: loopback only" : "bearer token required");
  {
    // The scheduler stops with the server, whatever ends it, and its pipelines stop before the
    // server returns (the thread is joined at the end of this block).
    std::jthread runs;
    if (scheduler) runs = std::jthread([&](std::stop_token own) { scheduler->Run(own); });
    std::stop_callback forward(stop, [&] { runs.request_stop(); });
    if (!stop.stop_requested()) server.listen_after_bind();
  }
  spdlog::info("nilus serve: stopped");
  return Status::OK();
}

}  // namespace nilus
