#include "nilus/pipeline/incremental.h"

#include "nilus/core/values.h"
#include "nilus/normalize/inference.h"

namespace nilus {

namespace {

/// Compares two canonical decimal texts by value.
int CompareDecimalText(std::string_view a, std::string_view b) {
  bool neg_a = !a.empty() && a[0] == '-', neg_b = !b.empty() && b[0] == '-';
  if (neg_a != neg_b) return neg_a ? -1 : 1;
  if (neg_a) {
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  size_t pa = a.find('.'), pb = b.find('.');
  std::string_view ia = a.substr(0, pa), ib = b.substr(0, pb);
  int cmp = ia.size() != ib.size() ? (ia.size() < ib.size() ? -1 : 1) : ia.compare(ib);
  if (cmp == 0) {
    std::string fa(pa == std::string_view::npos ? "" : a.substr(pa + 1));
    std::string fb(pb == std::string_view::npos ? "" : b.substr(pb + 1));
    fa.resize(std::max(fa.size(), fb.size()), '0');
    fb.resize(fa.size(), '0');
    cmp = fa.compare(fb);
  }
  cmp = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
  return neg_a ? -cmp : cmp;
}

}  // namespace

int CompareValues(const Column& a, int64_t i, const Column& b, int64_t j) {
  switch (a.type().layout()) {
    case PhysicalLayout::kBool:
      return static_cast<int>(a.Bool(i)) - static_cast<int>(b.Bool(j));
    case PhysicalLayout::kInt64:
      return a.Int64(i) < b.Int64(j) ? -1 : a.Int64(i) > b.Int64(j) ? 1 : 0;
    case PhysicalLayout::kDouble:
      return a.Double(i) < b.Double(j) ? -1 : a.Double(i) > b.Double(j) ? 1 : 0;
    case PhysicalLayout::kVarLen:
      if (a.type().id == TypeId::kDecimal) return CompareDecimalText(a.View(i), b.View(j));
      return a.View(i).compare(b.View(j));
  }
  return 0;
}

IncrementalCursor::IncrementalCursor(const SourceOptions& options, const nlohmann::json& saved)
    : key_(options.incremental_key),
      start_text_(options.interval_start),
      end_text_(options.interval_end),
      saved_(saved),
      backfill_(!options.interval_start.empty() || !options.interval_end.empty()) {}

Status IncrementalCursor::Bind(const Field& field, int index) {
  index_ = index;
  if (field.type.id == TypeId::kBool || field.type.id == TypeId::kJson || field.type.id == TypeId::kBinary) {
    return Status::InvalidInput("incremental-key '{}' is a {} column; use a number, date, timestamp or text column",
                                key_, field.type.ToString());
  }
  auto parse = [&](const std::string& text, const char* what) -> Result<Column> {
    Column c(field.type);
    int64_t days;
    bool is_timestamp = field.type.id == TypeId::kTimestamp || field.type.id == TypeId::kTimestampTz;
    if (is_timestamp && ParseDate(text, &days)) {
      c.AppendInt64(days * 86400 * 1000000);  // a date bound means its midnight
    } else if (!AppendTextValue(c, text)) {
      return Status::InvalidInput("{} '{}' is not a {} value, the type of incremental-key '{}'", what, text,
                                  field.type.ToString(), key_);
    }
    return c;
  };
  if (backfill_) {
    if (!start_text_.empty()) {
      NILUS_ASSIGN_OR_RAISE(Column c, parse(start_text_, "interval-start"));
      start_.emplace(std::move(c));
    }
    if (!end_text_.empty()) {
      NILUS_ASSIGN_OR_RAISE(Column c, parse(end_text_, "interval-end"));
      end_.emplace(std::move(c));
    }
  } else if (saved_.is_object() && saved_.value("key", "") == key_ && saved_.contains("value")) {
    if (saved_.value("type", "") != field.type.ToString()) {
      return Status::FailedPrecondition(
          "incremental-key '{}' was {} in the last load and is {} now; reset the state (nilus state reset) or add a "
          "type-hints entry to keep its type",
          key_, saved_.value("type", ""), field.type.ToString());
    }
    NILUS_ASSIGN_OR_RAISE(Column c, parse(saved_["value"].get<std::string>(), "the saved cursor"));
    lower_.emplace(std::move(c));
  }
  return Status::OK();
}

Result<std::vector<int64_t>> IncrementalCursor::Keep(const RecordBatch& batch) {
  int index = batch.schema().FieldIndex(key_);
  if (index < 0) {
    return Status::InvalidInput("incremental-key '{}' is not a column of the source; its columns are: {}", key_,
                                batch.schema().ToString());
  }
  if (index_ < 0) NILUS_RETURN_NOT_OK(Bind(batch.schema().field(index), index));
  const Column& keys = batch.column(index);
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(batch.num_rows()));
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    if (keys.IsNull(r)) continue;  // a row without a key cannot be placed before or after the cursor
    if (lower_ && CompareValues(keys, r, *lower_, 0) <= 0) continue;
    if (start_ && CompareValues(keys, r, *start_, 0) < 0) continue;
    if (end_ && CompareValues(keys, r, *end_, 0) >= 0) continue;
    keep.push_back(r);
    if (!max_ || CompareValues(keys, r, *max_, 0) > 0) {
      if (!max_) max_.emplace(keys.type());
      max_->Clear();
      max_->AppendFrom(keys, r);
    }
  }
  return keep;
}

Result<std::shared_ptr<const RecordBatch>> IncrementalCursor::Apply(std::shared_ptr<const RecordBatch> batch) {
  if (!enabled()) return batch;
  NILUS_ASSIGN_OR_RAISE(std::vector<int64_t> keep, Keep(*batch));
  if (static_cast<int64_t>(keep.size()) == batch->num_rows()) return batch;
  return TakeRows(*batch, keep);
}

std::string IncrementalCursor::SavedValue() const {
  if (!enabled() || backfill_ || !saved_.is_object() || saved_.value("key", "") != key_) return "";
  auto value = saved_.find("value");
  return value != saved_.end() && value->is_string() ? value->get<std::string>() : "";
}

nlohmann::json IncrementalCursor::ToState() const {
  if (!enabled() || backfill_) return saved_;
  if (!max_) return saved_;
  return {{"key", key_}, {"type", max_->type().ToString()}, {"value", ValueToString(*max_, 0)}};
}

}  // namespace nilus
