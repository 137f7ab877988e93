#pragma once

#include "nilus/connectors/registry.h"
#include "nilus/core/options.h"
#include "nilus/pipeline/runner.h"
#include "nilus/state/run_history.h"
#include "nilus/state/state_store.h"

namespace nilus {

/// Runs a change-data-capture pipeline (DESIGN §2.3) until `options.stop` is requested, or,
/// with `snapshot.mode: initial_only`, until the snapshot is loaded.
///
/// Each captured table `schema.table` lands in `<dest-table>.<topic.prefix>_<schema>_<table>`:
/// with `append` a change log (a row per change, with the change-record columns), with `merge`
/// a mirror of the table. Source transactions are applied whole, several to a destination
/// transaction (up to `max.batch.size` changes, or `poll.interval.ms`), and the source's position
/// commits with them; the source is told to release its log only after that commit, so a crash
/// at any point neither loses nor repeats a change. A lost connection is retried with backoff.
/// Its progress (position, changes applied, lag) goes to `history` every few seconds, when given.
Status RunChangeCapture(const Pipeline& pipeline, const RunOptions& options, const ConnectorRegistry& registry,
                        StateStore& store, RunHistory* history);

}  // namespace nilus
