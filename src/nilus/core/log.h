#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "nilus/core/status.h"

namespace nilus {

enum class LogFormat { kText, kJson };

/// Sets up logging to stderr: plain lines or one JSON object per line. Every line passes
/// through `MaskSecrets`. `level` is one of trace, debug, info, warn, error.
Status InitLogging(std::string_view level, LogFormat format);

/// True when stderr is a terminal and the format is text: a live progress line is shown.
bool ProgressLineEnabled();

/// Replaces the progress line at the bottom of the terminal (no-op when not enabled).
/// Log lines are printed above it.
void SetProgressLine(const std::string& line);
void ClearProgressLine();

}  // namespace nilus
