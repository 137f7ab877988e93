#include "nilus/core/log.h"

#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "nilus/core/secrets.h"

namespace nilus {

namespace {

struct Console {
  std::mutex mu;
  LogFormat format = LogFormat::kText;
  bool progress_enabled = false;
  std::string progress;
};

Console& TheConsole() {
  static Console console;
  return console;
}

std::string Timestamp(std::chrono::system_clock::time_point t) {
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = millis / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, millis % 1000);
}

/// Writes masked log lines to stderr, above the progress line when there is one.
class ConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text = MaskSecrets(std::string_view(msg.payload.data(), msg.payload.size()));
    auto level = spdlog::level::to_string_view(msg.level);
    auto& console = TheConsole();
    std::lock_guard lock(console.mu);
    std::string line;
    if (console.format == LogFormat::kJson) {
      nlohmann::json j = {
          {"ts", Timestamp(msg.time)}, {"level", std::string(level.data(), level.size())}, {"msg", text}};
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
      line = fmt::format("{} {:<5} {}\n", Timestamp(msg.time), std::string_view(level.data(), level.size()), text);
    }
    if (!console.progress.empty()) std::fputs("\r\033[K", stderr);
    std::fputs(line.c_str(), stderr);
    if (!console.progress.empty()) std::fputs(console.progress.c_str(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

Status InitLogging(std::string_view level, LogFormat format) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidInput("unknown log level '{}'; allowed: trace, debug, info, warn, error", level);
  }
  auto& console = TheConsole();
  {
    std::lock_guard lock(console.mu);
    console.format = format;
    console.progress_enabled = format == LogFormat::kText && isatty(STDERR_FILENO);
  }
  auto logger = std::make_shared<spdlog::logger>("nilus", std::make_shared<ConsoleSink>());
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return Status::OK();
}

bool ProgressLineEnabled() {
  auto& console = TheConsole();
  std::lock_guard lock(console.mu);
  return console.progress_enabled;
}

void SetProgressLine(const std::string& line) {
  auto& console = TheConsole();
  std::lock_guard lock(console.mu);
  if (!console.progress_enabled) return;
  console.progress = MaskSecrets(line);
  std::fputs("\r\033[K", stderr);
  std::fputs(console.progress.c_str(), stderr);
  std::fflush(stderr);
}

void ClearProgressLine() {
  auto& console = TheConsole();
  std::lock_guard lock(console.mu);
  if (console.progress.empty()) return;
  console.progress.clear();
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

}  // namespace nilus
