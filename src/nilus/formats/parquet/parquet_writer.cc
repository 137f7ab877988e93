#include "nilus/formats/parquet/parquet_writer.h"

#include <snappy-c.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <thread>

#include "nilus/core/values.h"
#include "nilus/formats/parquet/thrift_compact.h"

namespace nilus::parquet {

namespace {

using Type = CompactWriter::Type;

// Enum values of parquet.thrift.
enum Encoding : int32_t { kPlain = 0, kRle = 3, kRleDictionary = 8 };
enum PageType : int32_t { kDataPage = 0, kDictionaryPage = 2 };
enum ConvertedType : int32_t { kUtf8 = 0, kDecimalType = 5, kDateType = 6, kTimeMicros = 8, kTimestampMicros = 10 };
enum Repetition : int32_t { kRequired = 0, kOptional = 1 };
constexpr int32_t kSnappyCodec = 1;
constexpr int32_t kZstdCodec = 6;

enum class Logical { kNone, kString, kDecimal, kDate, kTime, kTimestamp, kUuid };

/// How a logical type of a record batch is stored.
struct ColumnType {
  Physical physical = Physical::kByteArray;
  int32_t length = 0;  ///< of a FIXED_LEN_BYTE_ARRAY
  Logical logical = Logical::kNone;
  bool utc = false;  ///< a timestamp's isAdjustedToUTC
  int precision = 0, scale = 0;
};

}  // namespace

/// The fewest bytes whose two's complement holds every decimal of `precision` digits.
int32_t DecimalBytes(int precision) {
  int32_t n = 1;
  while (std::ldexp(1.0, 8 * n - 1) < std::pow(10.0, precision)) ++n;
  return n;
}

namespace {

ColumnType TypeFor(const LogicalType& t) {
  switch (t.id) {
    case TypeId::kBool:
      return {Physical::kBoolean};
    case TypeId::kBigint:
      return {Physical::kInt64};
    case TypeId::kDouble:
      return {Physical::kDouble};
    case TypeId::kDecimal:
      // Parquet's (and Iceberg's) decimals hold at most 38 digits, and need a precision.
      if (t.precision < 1 || t.precision > 38) return {Physical::kByteArray, 0, Logical::kString};
      if (t.precision <= 9) return {Physical::kInt32, 0, Logical::kDecimal, false, t.precision, t.scale};
      if (t.precision <= 18) return {Physical::kInt64, 0, Logical::kDecimal, false, t.precision, t.scale};
      return {Physical::kFixed, DecimalBytes(t.precision), Logical::kDecimal, false, t.precision, t.scale};
    case TypeId::kText:
    case TypeId::kJson:
      return {Physical::kByteArray, 0, Logical::kString};
    case TypeId::kBinary:
      return {Physical::kByteArray};
    case TypeId::kDate:
      return {Physical::kInt32, 0, Logical::kDate};
    case TypeId::kTime:
      return {Physical::kInt64, 0, Logical::kTime};
    case TypeId::kTimestamp:
      return {Physical::kInt64, 0, Logical::kTimestamp, false};
    case TypeId::kTimestampTz:
      return {Physical::kInt64, 0, Logical::kTimestamp, true};
    case TypeId::kUuid:
      return {Physical::kFixed, 16, Logical::kUuid};
  }
  return {};
}

void PutLE32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void PutLE64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
int32_t LE32(std::string_view b) {
  int32_t v;
  std::memcpy(&v, b.data(), 4);
  return v;
}
int64_t LE64(std::string_view b) {
  int64_t v;
  std::memcpy(&v, b.data(), 8);
  return v;
}

/// Parquet's RLE / bit-packed hybrid encoding of `values` at `width` bits: runs of eight or
/// more equal values as RLE runs, the rest bit-packed in groups of eight.
void RleHybrid(const std::vector<uint32_t>& values, int width, std::string& out) {
  const size_t n = values.size();
  const int value_bytes = (width + 7) / 8;
  auto varint = [&](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  auto run_at = [&](size_t i) {
    size_t j = i;
    while (j < n && values[j] == values[i]) ++j;
    return j - i;
  };
  size_t i = 0;
  while (i < n) {
    size_t run = run_at(i);
    if (run >= 8) {
      varint(run << 1);
      for (int b = 0; b < value_bytes; ++b) out.push_back(static_cast<char>(values[i] >> (8 * b)));
      i += run;
      continue;
    }
    // Bit-packed groups of eight, until a run of eight starts a group (or 63 groups).
    size_t groups = 0;
    const size_t start = i;
    do {
      i += 8;
      ++groups;
    } while (i < n && groups < 63 && run_at(i) < 8);
    varint(groups << 1 | 1);
    uint64_t acc = 0;
    int bits = 0;
    for (size_t k = start; k < start + groups * 8; ++k) {
      acc |= static_cast<uint64_t>(k < n ? values[k] : 0) << bits;
      bits += width;
      while (bits >= 8) {
        out.push_back(static_cast<char>(acc));
        acc >>= 8;
        bits -= 8;
      }
    }
    if (i > n) i = n;
  }
}

int BitWidth(uint32_t max) {
  int w = 0;
  while (max >> w) ++w;
  return std::max(w, 1);
}

/// A page header: the thrift of PageHeader.
std::string PageHeader(int32_t type, size_t raw, size_t compressed, int32_t values, int32_t encoding) {
  std::string out;
  CompactWriter w(out);
  w.I32(1, type);
  w.I32(2, static_cast<int32_t>(raw));
  w.I32(3, static_cast<int32_t>(compressed));
  if (type == kDataPage) {
    w.BeginStruct(5);
    w.I32(1, values);
    w.I32(2, encoding);
    w.I32(3, kRle);
    w.I32(4, kRle);
    w.EndStruct();
  } else {
    w.BeginStruct(7);
    w.I32(1, values);
    w.I32(2, kPlain);
    w.EndStruct();
  }
  w.EndStruct();
  return out;
}

}  // namespace

/// One column of the row group being written: its pages so far (compressed), its dictionary,
/// the page being filled, and the statistics of the chunk.
class ParquetWriter::ColumnWriter {
 public:
  ColumnWriter(const Field& field, const WriterOptions& options, ZSTD_CCtx* zstd)
      : field_(field), type_(TypeFor(field.type)), options_(options), zstd_(zstd) {
    dictionary_on_ = type_.physical != Physical::kBoolean;
  }

  const ColumnType& type() const { return type_; }
  const Field& field() const { return field_; }
  int64_t raw_bytes() const { return chunk_raw_ + page_raw_; }
  int64_t pending_bytes() const { return static_cast<int64_t>(pages_.size()) + page_raw_ + dict_plain_.size(); }
  /// The memory its buffers hold (their capacity, not only what is in them).
  int64_t held_bytes() const {
    size_t n =
        4 * (defs_.capacity() + bools_.capacity() + indices_.capacity() + slots_.capacity()) + 8 * entries_.capacity();
    for (const std::string* b : {&plain_, &scratch_, &body_, &levels_, &compressed_, &pages_, &dict_plain_}) {
      n += b->capacity();
    }
    return static_cast<int64_t>(n);
  }

  /// Compresses with `zstd` from now on (the context of the thread that appends).
  void use(ZSTD_CCtx* zstd) { zstd_ = zstd; }

  Status Append(const Column& c) {
    for (int64_t i = 0; i < c.length(); ++i) {
      if (c.IsNull(i)) {
        defs_.push_back(0);
        ++page_values_;
        ++nulls_;
        continue;
      }
      NILUS_RETURN_NOT_OK(Encode(c, i));
      Observe();
      if (type_.physical == Physical::kBoolean) {
        bools_.push_back(static_cast<uint32_t>(value_[0]));
      } else {
        if (dictionary_on_) NILUS_RETURN_NOT_OK(AddToDictionary());
        // The first page is kept plain too, in case the dictionary does not pay.
        if (!dictionary_on_ || dictionary_pages_ == 0) AppendPlain();
      }
      defs_.push_back(1);
      ++page_values_;
      page_raw_ += static_cast<int64_t>(value_.size()) + (type_.physical == Physical::kByteArray ? 4 : 0);
      if (page_raw_ >= options_.page_bytes) NILUS_RETURN_NOT_OK(FlushPage());
    }
    return Status::OK();
  }

  /// Ends the chunk: its bytes (dictionary page first) into `out`, its ColumnChunk thrift into
  /// `meta`, and its counts into `summary`; `offset` is where in the file it starts. Returns
  /// its size before compression.
  Result<int64_t> FinishChunk(int64_t offset, std::string& out, std::string& meta, ColumnSummary& summary) {
    NILUS_RETURN_NOT_OK(FlushPage());
    int64_t data_offset = offset;
    if (dictionary_pages_ > 0) {
      std::string page;
      NILUS_RETURN_NOT_OK(Compress(dict_plain_, page));
      std::string header =
          PageHeader(kDictionaryPage, dict_plain_.size(), page.size(), static_cast<int32_t>(entries_.size()), kPlain);
      out += header;
      out += page;
      raw_total_ += static_cast<int64_t>(header.size() + dict_plain_.size());
      data_offset += static_cast<int64_t>(header.size() + page.size());
    }
    out += pages_;
    const int64_t compressed = static_cast<int64_t>(out.size());

    CompactWriter w(meta);
    w.I64(2, offset);
    w.BeginStruct(3);
    w.I32(1, static_cast<int32_t>(type_.physical));
    std::vector<int32_t> encodings = {kPlain, kRle};
    if (dictionary_pages_ > 0) encodings.push_back(kRleDictionary);
    w.BeginList(2, Type::kI32, encodings.size());
    for (int32_t e : encodings) w.ListI32(e);
    w.BeginList(3, Type::kBinary, 1);
    w.ListBinary(field_.name);
    w.I32(4, options_.codec == Codec::kZstd ? kZstdCodec : options_.codec == Codec::kSnappy ? kSnappyCodec : 0);
    w.I64(5, values_);
    w.I64(6, raw_total_);
    w.I64(7, compressed);
    w.I64(9, data_offset);
    if (dictionary_pages_ > 0) w.I64(11, offset);
    w.BeginStruct(12);
    w.I64(3, nulls_);
    if (min_) {
      w.Binary(5, *max_);
      w.Binary(6, *min_);
    }
    if (type_.physical == Physical::kDouble) w.I64(9, nans_);
    w.EndStruct();
    w.EndStruct();
    w.EndStruct();

    summary.values += values_;
    summary.nulls += nulls_;
    summary.nans += nans_;
    summary.compressed_bytes += compressed;
    if (min_ && (!summary.min || Less(*min_, *summary.min))) summary.min = min_;
    if (max_ && (!summary.max || Less(*summary.max, *max_))) summary.max = max_;

    // The next chunk starts afresh, its buffers given back (a load writing many files at once
    // writes row groups out to bound the memory they hold).
    const int64_t raw = raw_total_;
    for (std::string* b : {&plain_, &scratch_, &body_, &levels_, &compressed_, &pages_, &dict_plain_}) {
      std::string().swap(*b);
    }
    for (auto* v : {&defs_, &bools_, &indices_, &slots_}) std::vector<uint32_t>().swap(*v);
    std::vector<std::pair<uint32_t, uint32_t>>().swap(entries_);
    dictionary_on_ = type_.physical != Physical::kBoolean;
    dictionary_pages_ = 0;
    values_ = nulls_ = nans_ = raw_total_ = chunk_raw_ = 0;
    min_.reset();
    max_.reset();
    return raw;
  }

 private:
  /// The value at row `i` in Parquet's plain encoding (without a byte array's length), as
  /// value_: the column's own bytes, or scratch_.
  Status Encode(const Column& c, int64_t i) {
    scratch_.clear();
    value_ = scratch_;
    switch (type_.physical) {
      case Physical::kBoolean:
        scratch_.push_back(c.Bool(i) ? 1 : 0);
        break;
      case Physical::kInt32:
        if (type_.logical == Logical::kDecimal) {
          __int128 v;
          if (!ParseUnscaled(c.View(i), type_.precision, type_.scale, &v)) return BadDecimal(c.View(i));
          PutLE32(scratch_, static_cast<uint32_t>(static_cast<int32_t>(v)));
        } else {
          // A date beyond INT32's days is an infinity (PostgreSQL's): ±INT32_MAX stands for it,
          // as in DuckDB.
          const int64_t day = std::clamp<int64_t>(c.Int64(i), -INT32_MAX, INT32_MAX);
          PutLE32(scratch_, static_cast<uint32_t>(static_cast<int32_t>(day)));
        }
        break;
      case Physical::kInt64:
        if (type_.logical == Logical::kDecimal) {
          __int128 v;
          if (!ParseUnscaled(c.View(i), type_.precision, type_.scale, &v)) return BadDecimal(c.View(i));
          PutLE64(scratch_, static_cast<uint64_t>(static_cast<int64_t>(v)));
        } else {
          // PostgreSQL's -infinity timestamp is INT64_MIN; -INT64_MAX is DuckDB's (and +infinity
          // is INT64_MAX in both).
          const int64_t v = type_.logical == Logical::kTimestamp ? std::max(c.Int64(i), -INT64_MAX) : c.Int64(i);
          PutLE64(scratch_, static_cast<uint64_t>(v));
        }
        break;
      case Physical::kDouble: {
        double d = c.Double(i);
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        PutLE64(scratch_, bits);
        break;
      }
      case Physical::kByteArray:
        value_ = c.View(i);
        return Status::OK();
      case Physical::kFixed:
        if (type_.logical == Logical::kDecimal) {
          __int128 v;
          if (!ParseUnscaled(c.View(i), type_.precision, type_.scale, &v)) return BadDecimal(c.View(i));
          for (int b = type_.length - 1; b >= 0; --b) scratch_.push_back(static_cast<char>(v >> (8 * b)));
        } else {
          value_ = c.View(i);
          if (static_cast<int32_t>(value_.size()) != type_.length) {
            return Status::InvalidInput("column '{}': a value of {} bytes where {} are expected", field_.name,
                                        value_.size(), type_.length);
          }
          return Status::OK();
        }
        break;
    }
    value_ = scratch_;
    return Status::OK();
  }

  Status BadDecimal(std::string_view text) const {
    return Status::InvalidInput(
        "column '{}': '{}' is not a decimal({},{}) value (it does not fit, or is NaN or infinite)", field_.name, text,
        type_.precision, type_.scale);
  }

  /// Whether plain-encoded value `a` orders before `b` in the column's type order.
  bool Less(std::string_view a, std::string_view b) const {
    switch (type_.physical) {
      case Physical::kBoolean:
        return a[0] < b[0];
      case Physical::kInt32:
        return LE32(a) < LE32(b);
      case Physical::kInt64:
        return LE64(a) < LE64(b);
      case Physical::kDouble: {
        double x, y;
        std::memcpy(&x, a.data(), 8);
        std::memcpy(&y, b.data(), 8);
        return x < y;
      }
      case Physical::kFixed:
        if (type_.logical == Logical::kDecimal && static_cast<int8_t>(a[0]) != static_cast<int8_t>(b[0])) {
          return static_cast<int8_t>(a[0]) < static_cast<int8_t>(b[0]);  // big-endian two's complement
        }
        return a < b;
      case Physical::kByteArray:
        return a < b;  // unsigned bytes
    }
    return false;
  }

  /// Counts the value in value_ in the chunk's statistics.
  void Observe() {
    if (type_.physical == Physical::kDouble) {
      double d;
      std::memcpy(&d, value_.data(), 8);
      if (std::isnan(d)) {
        ++nans_;
        return;
      }
    }
    // Assigned in place: on a rising column every value is a new maximum.
    if (!min_) {
      min_.emplace(value_);
    } else if (Less(value_, *min_)) {
      min_->assign(value_);
    }
    if (!max_) {
      max_.emplace(value_);
    } else if (Less(*max_, value_)) {
      max_->assign(value_);
    }
  }

  void AppendPlain() {
    if (type_.physical == Physical::kByteArray) PutLE32(plain_, static_cast<uint32_t>(value_.size()));
    plain_ += value_;
  }

  /// Adds value_ to the page as a dictionary index; gives the dictionary up (after flushing the
  /// page of indices) when it would grow beyond its limit.
  Status AddToDictionary() {
    if (slots_.empty()) slots_.assign(1024, 0);
    size_t mask = slots_.size() - 1;
    size_t s = std::hash<std::string_view>{}(value_)&mask;
    while (uint32_t e = slots_[s]) {
      if (Entry(e - 1) == value_) {
        indices_.push_back(e - 1);
        return Status::OK();
      }
      s = (s + 1) & mask;
    }
    int64_t entry = static_cast<int64_t>(value_.size()) + (type_.physical == Physical::kByteArray ? 4 : 0);
    if (static_cast<int64_t>(dict_plain_.size()) + entry > options_.dictionary_bytes) {
      NILUS_RETURN_NOT_OK(FlushPage());
      dictionary_on_ = false;
      return Status::OK();
    }
    if (type_.physical == Physical::kByteArray) PutLE32(dict_plain_, static_cast<uint32_t>(value_.size()));
    entries_.emplace_back(static_cast<uint32_t>(dict_plain_.size()), static_cast<uint32_t>(value_.size()));
    dict_plain_ += value_;
    slots_[s] = static_cast<uint32_t>(entries_.size());
    indices_.push_back(static_cast<uint32_t>(entries_.size() - 1));
    if (entries_.size() * 2 > slots_.size()) {
      // Twice the slots, at most half of them full.
      std::vector<uint32_t> slots(slots_.size() * 2, 0);
      mask = slots.size() - 1;
      for (size_t k = 0; k < entries_.size(); ++k) {
        size_t t = std::hash<std::string_view>{}(Entry(k)) & mask;
        while (slots[t]) t = (t + 1) & mask;
        slots[t] = static_cast<uint32_t>(k + 1);
      }
      slots_.swap(slots);
    }
    return Status::OK();
  }

  std::string_view Entry(size_t k) const { return {dict_plain_.data() + entries_[k].first, entries_[k].second}; }

  Status Compress(const std::string& raw, std::string& out) const {
    if (options_.codec == Codec::kNone) {
      out = raw;
      return Status::OK();
    }
    if (options_.codec == Codec::kSnappy) {
      size_t n = snappy_max_compressed_length(raw.size());
      out.resize(n);
      if (snappy_compress(raw.data(), raw.size(), out.data(), &n) != SNAPPY_OK)
        return Status::Internal("snappy failed");
      out.resize(n);
      return Status::OK();
    }
    out.resize(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compressCCtx(zstd_, out.data(), out.size(), raw.data(), raw.size(), options_.zstd_level);
    if (ZSTD_isError(n)) return Status::Internal("zstd: {}", ZSTD_getErrorName(n));
    out.resize(n);
    return Status::OK();
  }

  /// Writes the page being filled (levels, then values) as a v1 data page.
  Status FlushPage() {
    if (page_values_ == 0) return Status::OK();
    body_.clear();
    if (field_.nullable) {
      levels_.clear();
      RleHybrid(defs_, 1, levels_);
      PutLE32(body_, static_cast<uint32_t>(levels_.size()));
      body_ += levels_;
    }
    int32_t encoding = kPlain;
    if (type_.physical == Physical::kBoolean) {
      size_t start = body_.size();
      body_.resize(start + (bools_.size() + 7) / 8, '\0');
      for (size_t k = 0; k < bools_.size(); ++k) {
        if (bools_[k]) body_[start + k / 8] = static_cast<char>(body_[start + k / 8] | (1 << (k % 8)));
      }
    } else if (!indices_.empty()) {
      const size_t levels = body_.size();
      int width = BitWidth(entries_.empty() ? 0 : static_cast<uint32_t>(entries_.size() - 1));
      body_.push_back(static_cast<char>(width));
      RleHybrid(indices_, width, body_);
      encoding = kRleDictionary;
      // A dictionary that does not make the first page smaller is given up, and the page
      // written plain.
      if (dictionary_pages_ == 0 && body_.size() + dict_plain_.size() >= levels + plain_.size()) {
        body_.resize(levels);
        body_ += plain_;
        encoding = kPlain;
        dictionary_on_ = false;
        entries_.clear();
        slots_.clear();
        dict_plain_.clear();
      } else {
        ++dictionary_pages_;
      }
    } else {
      body_ += plain_;
    }
    NILUS_RETURN_NOT_OK(Compress(body_, compressed_));
    std::string header = PageHeader(kDataPage, body_.size(), compressed_.size(), page_values_, encoding);
    pages_ += header;
    pages_ += compressed_;
    raw_total_ += static_cast<int64_t>(header.size() + body_.size());
    values_ += page_values_;
    chunk_raw_ += page_raw_;
    defs_.clear();
    bools_.clear();
    indices_.clear();
    plain_.clear();
    page_values_ = 0;
    page_raw_ = 0;
    return Status::OK();
  }

  Field field_;
  ColumnType type_;
  const WriterOptions& options_;
  ZSTD_CCtx* zstd_;

  // The page being filled.
  std::vector<uint32_t> defs_, bools_, indices_;
  std::string plain_, scratch_, body_, levels_, compressed_;
  std::string_view value_;
  int32_t page_values_ = 0;
  int64_t page_raw_ = 0;

  // The chunk.
  std::string pages_;
  /// The dictionary: its entries' plain encoding, where each entry's bytes are in it, and an
  /// open-addressing table of entry numbers (plus one; 0 is free) by hash.
  std::string dict_plain_;
  std::vector<std::pair<uint32_t, uint32_t>> entries_;
  std::vector<uint32_t> slots_;
  bool dictionary_on_ = true;
  int dictionary_pages_ = 0;
  int64_t values_ = 0, nulls_ = 0, nans_ = 0, raw_total_ = 0, chunk_raw_ = 0;
  std::optional<std::string> min_, max_;
};

ParquetWriter::ParquetWriter(std::unique_ptr<OutputFile> file, Schema schema, WriterOptions options)
    : file_(std::move(file)), schema_(std::move(schema)), options_(std::move(options)) {}

ParquetWriter::~ParquetWriter() {
  if (owns_zstd_) ZSTD_freeCCtx(zstd_);
  ZSTD_freeCCtx(lane_zstd_);
}

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::Open(const std::string& path, const Schema& schema,
                                                           WriterOptions options) {
  if (!options.field_ids.empty() && options.field_ids.size() != schema.num_fields()) {
    return Status::Internal("{} field ids for {} columns", options.field_ids.size(), schema.num_fields());
  }
  NILUS_ASSIGN_OR_RAISE(auto file, OutputFile::Open(path));
  auto w = std::unique_ptr<ParquetWriter>(new ParquetWriter(std::move(file), schema, std::move(options)));
  w->owns_zstd_ = w->options_.zstd == nullptr;
  w->zstd_ = w->owns_zstd_ ? ZSTD_createCCtx() : w->options_.zstd;
  for (const auto& field : w->schema_.fields()) {
    w->columns_.push_back(std::make_unique<ColumnWriter>(field, w->options_, w->zstd_));
  }
  w->summaries_.resize(w->columns_.size());
  NILUS_RETURN_NOT_OK(w->file_->Write("PAR1"));
  return w;
}

Status ParquetWriter::Write(const RecordBatch& batch) {
  if (!(batch.schema() == schema_)) {
    return Status::Internal("a batch of schema {} written to a Parquet file of schema {}", batch.schema().ToString(),
                            schema_.ToString());
  }
  if (batch.num_rows() >= kTwoLaneRows && columns_.size() > 1 && std::thread::hardware_concurrency() > 1) {
    NILUS_RETURN_NOT_OK(AppendOnTwoLanes(batch));
  } else {
    for (size_t c = 0; c < columns_.size(); ++c) NILUS_RETURN_NOT_OK(columns_[c]->Append(batch.column(c)));
  }
  int64_t raw = 0;
  for (const auto& c : columns_) raw += c->raw_bytes();
  group_rows_ += batch.num_rows();
  rows_ += batch.num_rows();
  if (raw >= options_.row_group_bytes) NILUS_RETURN_NOT_OK(FlushRowGroup());
  return Status::OK();
}

Status ParquetWriter::AppendOnTwoLanes(const RecordBatch& batch) {
  // The columns, largest first, each to the lane with less to do.
  std::vector<size_t> order(columns_.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<int64_t> bytes(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) bytes[c] = batch.column(c).byte_size();
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
  std::vector<size_t> lanes[2];
  int64_t load[2] = {0, 0};
  for (size_t c : order) {
    const int lane = load[0] <= load[1] ? 0 : 1;
    lanes[lane].push_back(c);
    load[lane] += bytes[c];
  }
  if (!lane_zstd_) lane_zstd_ = ZSTD_createCCtx();
  for (size_t c : lanes[1]) columns_[c]->use(lane_zstd_);
  Status second;
  std::thread worker([&] {
    for (size_t c : lanes[1]) {
      second = columns_[c]->Append(batch.column(c));
      if (!second.ok()) return;
    }
  });
  Status first;
  for (size_t c : lanes[0]) {
    first = columns_[c]->Append(batch.column(c));
    if (!first.ok()) break;
  }
  worker.join();
  for (size_t c : lanes[1]) columns_[c]->use(zstd_);
  NILUS_RETURN_NOT_OK(first);
  return second;
}

int64_t ParquetWriter::EstimatedSize() const {
  int64_t size = file_->size();
  for (const auto& c : columns_) size += c->pending_bytes();
  return size;
}

int64_t ParquetWriter::BufferedBytes() const {
  int64_t size = 0;
  for (const auto& c : columns_) size += c->held_bytes();
  return size;
}

Status ParquetWriter::FlushRowGroup() {
  if (group_rows_ == 0) return Status::OK();
  const int64_t start = file_->size();
  std::string group;
  CompactWriter g(group);
  g.BeginList(1, Type::kStruct, columns_.size());
  int64_t raw = 0;
  std::string chunk;
  for (size_t c = 0; c < columns_.size(); ++c) {
    chunk.clear();
    std::string meta;
    NILUS_ASSIGN_OR_RAISE(int64_t chunk_raw, columns_[c]->FinishChunk(file_->size(), chunk, meta, summaries_[c]));
    raw += chunk_raw;
    NILUS_RETURN_NOT_OK(file_->Write(chunk));
    g.Raw(meta);
  }
  g.I64(2, raw);
  g.I64(3, group_rows_);
  g.I64(5, start);
  g.I64(6, file_->size() - start);
  g.I16(7, static_cast<int16_t>(groups_));
  g.EndStruct();
  footer_groups_ += group;
  group_offsets_.push_back(start);
  ++groups_;
  group_rows_ = 0;
  return Status::OK();
}

Result<FileSummary> ParquetWriter::Close() {
  NILUS_RETURN_NOT_OK(FlushRowGroup());
  std::string footer;
  CompactWriter w(footer);
  w.I32(1, 2);
  w.BeginList(2, Type::kStruct, columns_.size() + 1);
  w.BeginListStruct();
  w.Binary(4, "schema");
  w.I32(5, static_cast<int32_t>(columns_.size()));
  w.EndStruct();
  for (size_t c = 0; c < columns_.size(); ++c) {
    const ColumnType& t = columns_[c]->type();
    const Field& f = columns_[c]->field();
    w.BeginListStruct();
    w.I32(1, static_cast<int32_t>(t.physical));
    if (t.physical == Physical::kFixed) w.I32(2, t.length);
    w.I32(3, f.nullable ? kOptional : kRequired);
    w.Binary(4, f.name);
    // The converted type too, for older readers (not for local times, which it cannot say).
    switch (t.logical) {
      case Logical::kString:
        w.I32(6, kUtf8);
        break;
      case Logical::kDecimal:
        w.I32(6, kDecimalType);
        w.I32(7, t.scale);
        w.I32(8, t.precision);
        break;
      case Logical::kDate:
        w.I32(6, kDateType);
        break;
      case Logical::kTime:
        if (t.utc) w.I32(6, kTimeMicros);
        break;
      case Logical::kTimestamp:
        if (t.utc) w.I32(6, kTimestampMicros);
        break;
      default:
        break;
    }
    if (!options_.field_ids.empty()) w.I32(9, options_.field_ids[c]);
    if (t.logical != Logical::kNone) {
      w.BeginStruct(10);
      switch (t.logical) {
        case Logical::kString:
          w.BeginStruct(1);
          break;
        case Logical::kDecimal:
          w.BeginStruct(5);
          w.I32(1, t.scale);
          w.I32(2, t.precision);
          break;
        case Logical::kDate:
          w.BeginStruct(6);
          break;
        case Logical::kTime:
        case Logical::kTimestamp:
          w.BeginStruct(t.logical == Logical::kTime ? 7 : 8);
          w.Bool(1, t.utc);
          w.BeginStruct(2);  // unit
          w.BeginStruct(2);  // MICROS
          w.EndStruct();
          w.EndStruct();
          break;
        case Logical::kUuid:
          w.BeginStruct(14);
          break;
        case Logical::kNone:
          break;
      }
      w.EndStruct();
      w.EndStruct();
    }
    w.EndStruct();
  }
  w.I64(3, rows_);
  w.BeginList(4, Type::kStruct, static_cast<size_t>(groups_));
  w.Raw(footer_groups_);
  if (!options_.metadata.empty()) {
    w.BeginList(5, Type::kStruct, options_.metadata.size());
    for (const auto& [key, value] : options_.metadata) {
      w.BeginListStruct();
      w.Binary(1, key);
      w.Binary(2, value);
      w.EndStruct();
    }
  }
  w.Binary(6, "nilus version " NILUS_VERSION);
  w.BeginList(7, Type::kStruct, columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    w.BeginListStruct();
    w.BeginStruct(1);  // TYPE_ORDER
    w.EndStruct();
    w.EndStruct();
  }
  w.EndStruct();
  PutLE32(footer, static_cast<uint32_t>(footer.size()));
  footer += "PAR1";
  NILUS_RETURN_NOT_OK(file_->Write(footer));
  NILUS_RETURN_NOT_OK(file_->Close());
  return FileSummary{rows_, file_->size(), summaries_, group_offsets_};
}

}  // namespace nilus::parquet
