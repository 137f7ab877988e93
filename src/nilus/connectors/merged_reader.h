#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "nilus/connectors/connector.h"
#include "nilus/core/bounded_queue.h"

namespace nilus {

/// Reads several parts of one table at once (e.g. key ranges on separate connections) and
/// yields their batches as one stream, in whatever order they complete. One thread per part;
/// at most `parts + 2` finished batches wait in between, so memory stays bounded.
class MergedReader final : public BatchReader {
 public:
  /// `keep_alive` is held until the reader is destroyed (e.g. the connection whose snapshot
  /// the parts share).
  MergedReader(std::vector<std::unique_ptr<BatchReader>> parts, std::shared_ptr<void> keep_alive);
  ~MergedReader() override;

  Result<std::shared_ptr<const RecordBatch>> Next() override;

 private:
  struct Item {
    std::shared_ptr<const RecordBatch> batch;
    Status status;
  };

  std::vector<std::unique_ptr<BatchReader>> parts_;
  std::shared_ptr<void> keep_alive_;
  BoundedQueue<Item> queue_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> running_;
};

}  // namespace nilus
