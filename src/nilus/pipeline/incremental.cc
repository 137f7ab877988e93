#include "nilus/pipeline/incremental.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "nilus/core/text_values.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

/// More rows than this sharing the cursor's last value make a large state: say so.
constexpr size_t kLargeBoundary = 100000;

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

nlohmann::json CountsToJson(const std::unordered_map<std::string, int64_t>& counts) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [hash, n] : counts) out[hash] = n;
  return out;
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

std::string RowHash(const RecordBatch& batch, int64_t r) {
  std::vector<size_t> order(batch.num_columns());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return batch.schema().field(x).name < batch.schema().field(y).name; });
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (size_t c : order) {
    const std::string& name = batch.schema().field(c).name;
    if (name == kOriginColumn || batch.column(c).IsNull(r)) continue;
    std::string value = ValueToString(batch.column(c), r);
    EVP_DigestUpdate(ctx.get(), name.data(), name.size());
    EVP_DigestUpdate(ctx.get(), "\x1f", 1);
    EVP_DigestUpdate(ctx.get(), value.data(), value.size());
    EVP_DigestUpdate(ctx.get(), "\x1e", 1);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &n);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

IncrementalCursor::IncrementalCursor(const SourceOptions& options, const nlohmann::json& saved)
    : key_(options.incremental_key),
      start_text_(options.interval_start),
      end_text_(options.interval_end),
      saved_(saved),
      backfill_(!options.interval_start.empty() || !options.interval_end.empty()) {}

Status IncrementalCursor::Bind(const Field& field) {
  bound_ = true;
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
    return Status::OK();
  }
  std::string saved = SavedValue();
  if (saved.empty()) return Status::OK();
  if (saved_.value("type", "") != field.type.ToString()) {
    return Status::FailedPrecondition(
        "incremental-key '{}' was {} in the last load and is {} now; reset the state (nilus state reset) or add a "
        "type-hints entry to keep its type",
        key_, saved_.value("type", ""), field.type.ToString());
  }
  NILUS_ASSIGN_OR_RAISE(Column c, parse(saved, "the saved cursor"));
  lower_.emplace(c);
  legacy_ = !saved_.contains("at_value");
  if (legacy_) return Status::OK();
  max_.emplace(std::move(c));
  const nlohmann::json at_value = saved_.value("at_value", nlohmann::json::object());
  for (const auto& [hash, n] : at_value.items()) loaded_before_[hash] = n.get<int64_t>();
  at_max_ = loaded_before_;
  return Status::OK();
}

bool IncrementalCursor::LoadedBefore(const RecordBatch& source, int64_t r) {
  if (loaded_before_.empty()) return false;
  auto it = loaded_before_.find(RowHash(source, r));
  if (it == loaded_before_.end()) return false;
  if (--it->second == 0) loaded_before_.erase(it);
  return true;
}

void IncrementalCursor::TrackMaximum(const Column& keys, const RecordBatch& source, const std::vector<int64_t>& kept) {
  if (kept.empty()) return;
  int64_t top = kept[0];
  for (int64_t r : kept) {
    if (CompareValues(keys, r, keys, top) > 0) top = r;
  }
  int order = max_ ? CompareValues(keys, top, *max_, 0) : 1;
  if (order < 0) return;
  if (order > 0) {
    if (!max_) max_.emplace(keys.type());
    max_->Clear();
    max_->AppendFrom(keys, top);
    at_max_.clear();
  }
  for (int64_t r : kept) {
    if (CompareValues(keys, r, *max_, 0) == 0) ++at_max_[RowHash(source, r)];
  }
}

Result<std::vector<int64_t>> IncrementalCursor::Keep(const RecordBatch& batch, const RecordBatch& source,
                                                     int64_t limit) {
  int index = batch.schema().FieldIndex(key_);
  if (index < 0) {
    return Status::InvalidInput("incremental-key '{}' is not a column of the source; its columns are: {}", key_,
                                batch.schema().ToString());
  }
  if (!bound_) NILUS_RETURN_NOT_OK(Bind(batch.schema().field(static_cast<size_t>(index))));
  const Column& keys = batch.column(static_cast<size_t>(index));
  const int origin = source.schema().FieldIndex(kOriginColumn);
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(batch.num_rows()));
  for (int64_t r = 0; r < batch.num_rows(); ++r) {
    if (limit >= 0 && static_cast<int64_t>(keep.size()) >= limit) break;
    if (keys.IsNull(r)) {
      if (backfill_) continue;  // outside any interval
      std::string where = origin >= 0 ? std::string(source.column(static_cast<size_t>(origin)).View(r)) + ": " : "";
      return Status::InvalidInput(
          "{}a row has no value for incremental-key '{}'; it could never be placed before or after the cursor. Give "
          "every row a key (e.g. a query with coalesce(updated_at, created_at)) or load without incremental-key",
          where, key_);
    }
    if (lower_) {
      int order = CompareValues(keys, r, *lower_, 0);
      if (order < 0 || (order == 0 && (legacy_ || LoadedBefore(source, r)))) continue;
    }
    if (start_ && CompareValues(keys, r, *start_, 0) < 0) continue;
    if (end_ && CompareValues(keys, r, *end_, 0) >= 0) continue;
    keep.push_back(r);
  }
  if (!backfill_) TrackMaximum(keys, source, keep);
  return keep;
}

std::string IncrementalCursor::SavedValue() const {
  if (!enabled() || backfill_ || !saved_.is_object() || saved_.value("key", "") != key_) return "";
  auto value = saved_.find("value");
  return value != saved_.end() && value->is_string() ? value->get<std::string>() : "";
}

int64_t IncrementalCursor::SavedRowsAtValue() const {
  if (SavedValue().empty()) return 0;
  const nlohmann::json at_value = saved_.value("at_value", nlohmann::json::object());
  int64_t n = 0;
  for (const auto& [hash, count] : at_value.items()) n += count.get<int64_t>();
  return n;
}

nlohmann::json IncrementalCursor::ToState() const {
  if (!enabled() || backfill_ || !max_) return saved_;
  if (at_max_.size() > kLargeBoundary) {
    spdlog::warn(
        "{} rows share the last value of incremental-key '{}'; the state remembers each of them so that rows arriving "
        "later with that value are loaded once. A key with more distinct values (a timestamp, not a date) keeps the "
        "state small",
        at_max_.size(), key_);
  }
  return {{"key", key_},
          {"type", max_->type().ToString()},
          {"value", ValueToString(*max_, 0)},
          {"at_value", CountsToJson(at_max_)}};
}

}  // namespace nilus
