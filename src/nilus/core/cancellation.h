#pragma once

#include <chrono>

namespace nilus {

/// Routes SIGINT and SIGTERM to a watcher thread that requests a stop: work in progress is
/// abandoned at the next batch boundary and rolled back, nothing is half committed.
/// Call once, before starting other threads.
void InstallStopSignalHandlers();

/// True once a stop was requested (by a signal or by `RequestStop`).
bool StopRequested();
void RequestStop();

/// Waits up to `timeout`; returns early, with true, when a stop is requested.
bool WaitForStop(std::chrono::milliseconds timeout);

}  // namespace nilus
