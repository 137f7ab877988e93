#include "nilus/pipeline/run_record.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

/// CPU seconds the process used so far, and its peak RSS in MB.
double CpuSeconds(double* peak_mb = nullptr) {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  if (peak_mb) *peak_mb = static_cast<double>(u.ru_maxrss) / 1024.0;
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

/// Puts the run's metrics (gauges of this run) in the group job="nilus", pipeline=<name> of the
/// Pushgateway at `url`, replacing the last run's.
Status PushMetrics(const std::string& url, const RunRecord& r) {
  std::string body;
  auto gauge = [&](const char* name, const char* help) {
    body += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
  };
  gauge("nilus_run_success", "1 when the pipeline's last run succeeded.");
  body += fmt::format("nilus_run_success {}\n", r.is_success ? 1 : 0);
  gauge("nilus_run_duration_seconds", "How long the last run took.");
  body += fmt::format("nilus_run_duration_seconds {}\n", r.duration_sec);
  gauge("nilus_run_finished_timestamp_seconds", "When the last run ended, seconds since 1970.");
  body += fmt::format("nilus_run_finished_timestamp_seconds {:.3f}\n",
                      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  gauge("nilus_run_rows_loaded", "Rows the last run loaded, by destination table.");
  for (const auto& t : r.tables)
    body += fmt::format("nilus_run_rows_loaded{{table=\"{}\"}} {}\n", PrometheusLabel(t.dest_table), t.rows);
  gauge("nilus_run_bytes_loaded", "Bytes the last run loaded, by destination table.");
  for (const auto& t : r.tables)
    body += fmt::format("nilus_run_bytes_loaded{{table=\"{}\"}} {}\n", PrometheusLabel(t.dest_table), t.bytes);
  gauge("nilus_run_retries", "Attempts the last run repeated after a transient failure.");
  body += fmt::format("nilus_run_retries {}\n", r.retries);
  gauge("nilus_run_memory_bytes", "Peak resident memory of the process during the run.");
  body += fmt::format("nilus_run_memory_bytes {:.0f}\n", r.memory_mb * 1024 * 1024);

  CURL* curl = curl_easy_init();
  if (!curl) return Status::Internal("cannot start an HTTP request");
  char* job = curl_easy_escape(curl, r.pipeline.c_str(), static_cast<int>(r.pipeline.size()));
  std::string target = url;
  while (!target.empty() && target.back() == '/') target.pop_back();
  target += fmt::format("/metrics/job/nilus/pipeline/{}", job);
  curl_free(job);
  curl_easy_setopt(curl, CURLOPT_URL, target.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: text/plain; version=0.0.4");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Status::Unavailable("{}: {}", MaskSecrets(url), curl_easy_strerror(rc));
  if (status / 100 != 2) return Status::Unavailable("{} answered HTTP {}", MaskSecrets(url), status);
  return Status::OK();
}

}  // namespace

RunRecorder::RunRecorder(const Pipeline& pipeline)
    : pipeline_(pipeline),
      started_at_(HistoryNow()),
      start_(std::chrono::steady_clock::now()),
      cpu_start_(CpuSeconds()) {}

void RunRecorder::Finish(const Result<std::vector<LoadSummary>>& loads, StateStore& store, RunHistory* history,
                         const std::string& push_url) {
  RunRecord r;
  r.run_id = NewLoadId();
  r.pipeline = pipeline_.name;
  r.run_as_user = CurrentUser();
  r.source_depot = pipeline_.source.scheme();
  r.destination_depot = pipeline_.destination.scheme();
  r.destination_uri = pipeline_.destination.Masked();
  const std::string& dest = pipeline_.sink_options.dest_table;
  r.destination_schema = dest.find('.') == std::string::npos ? "" : dest.substr(0, dest.find('.'));
  r.started_at = started_at_;
  r.finished_at = HistoryNow();
  r.duration_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double cpu = CpuSeconds(&r.memory_mb) - cpu_start_;
  r.cpu_percent = r.duration_sec > 0 ? 100.0 * cpu / r.duration_sec : 0;
  r.retries = metrics_.retries.load();
  r.is_success = loads.ok();
  if (!loads.ok()) {
    r.error = {{"code", std::string(StatusCodeName(loads.status().code()))}, {"message", loads.status().message()}};
  }
  auto states = store.List(pipeline_.name);
  if (states.ok()) {
    r.pipeline_state = nlohmann::json::object();
    for (const auto& e : *states) r.pipeline_state[e.table] = e.state;
  }
  if (loads.ok()) {
    for (const auto& s : *loads) {
      TableRun t{s.source_table.empty() ? pipeline_.source.Masked() : s.source_table,
                 s.dest_table,
                 s.load_id,
                 s.rows,
                 s.bytes,
                 s.seconds,
                 s.normalize_seconds,
                 static_cast<int64_t>(1 + s.child_rows.size()),
                 nullptr};
      // The schema the load committed, from the pipeline's state of that table.
      if (r.pipeline_state.is_object() && r.pipeline_state.contains(s.dest_table)) {
        t.schema = r.pipeline_state[s.dest_table].value("schema", nlohmann::json());
      }
      r.tables.push_back(std::move(t));
    }
  }
  if (history) {
    if (Status st = history->Record(r); !st.ok()) {
      spdlog::warn("pipeline {}: the run was not written to the run history: {}", pipeline_.name, st.message());
    }
  }
  if (!push_url.empty()) {
    if (Status st = PushMetrics(push_url, r); !st.ok()) {
      spdlog::warn("pipeline {}: the run's metrics were not pushed: {}", pipeline_.name, st.message());
    }
  }
}

}  // namespace nilus
