#pragma once

#include <chrono>
#include <stop_token>

namespace nilus {

// A run is stopped through a std::stop_source that it owns (or shares with the process): every
// part of the run holds its std::stop_token, checks it between rows and batches, and registers a
// std::stop_callback around calls that block (a long SQL statement is interrupted by one). Nothing
// about stopping is process-global, so one process can run and stop many pipelines.

/// Routes SIGINT and SIGTERM to a watcher thread that calls `stop.request_stop()`; a second
/// signal exits the process at once with code 130 (the databases roll back what was open).
/// Call once, before starting other threads.
void InstallStopSignalHandlers(std::stop_source stop);

/// Waits up to `timeout`; returns early, with true, when a stop is requested.
bool WaitForStop(const std::stop_token& stop, std::chrono::milliseconds timeout);

}  // namespace nilus
