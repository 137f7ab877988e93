#include "nilus/connectors/merged_reader.h"

namespace nilus {

MergedReader::MergedReader(std::vector<std::unique_ptr<BatchReader>> parts, std::shared_ptr<void> keep_alive)
    : parts_(std::move(parts)), keep_alive_(std::move(keep_alive)), queue_(parts_.size() + 2), running_(parts_.size()) {
  for (auto& part : parts_) {
    threads_.emplace_back([this, reader = part.get()] {
      while (true) {
        auto next = reader->Next();
        if (!next.ok()) {
          queue_.Push({nullptr, next.status()});
          break;
        }
        if (!*next || !queue_.Push({*next, Status::OK()})) break;
      }
      if (--running_ == 0) queue_.Close();
    });
  }
}

MergedReader::~MergedReader() {
  queue_.Close();
  for (auto& t : threads_) t.join();
}

Result<std::shared_ptr<const RecordBatch>> MergedReader::Next() {
  auto item = queue_.Pop();
  if (!item) return std::shared_ptr<const RecordBatch>();
  if (!item->status.ok()) {
    queue_.Close();  // the other parts stop at their next batch
    return item->status;
  }
  return item->batch;
}

}  // namespace nilus
