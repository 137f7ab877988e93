#include "nilus/formats/parquet/parquet_reader.h"

#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "nilus/core/values.h"
#include "nilus/formats/parquet/thrift_compact.h"

namespace nilus::parquet {

namespace {

// The numbers of Parquet's Thrift definitions (parquet.thrift).
enum PhysicalType {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kInt96 = 3,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixed = 7
};
enum Repetition { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum Encoding {
  kPlain = 0,
  kPlainDictionary = 2,
  kRle = 3,
  kBitPacked = 4,
  kDeltaBinaryPacked = 5,
  kDeltaLengthByteArray = 6,
  kDeltaByteArray = 7,
  kRleDictionary = 8,
  kByteStreamSplit = 9
};
enum CodecId { kUncompressed = 0, kSnappy = 1, kGzip = 2, kLzo = 3, kBrotli = 4, kLz4 = 5, kZstd = 6, kLz4Raw = 7 };
enum PageType { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };
enum Converted {
  kUtf8 = 0,
  kMap = 1,
  kMapKeyValue = 2,
  kList = 3,
  kEnum = 4,
  kDecimal = 5,
  kDate = 6,
  kTimeMillis = 7,
  kTimeMicros = 8,
  kTimestampMillis = 9,
  kTimestampMicros = 10,
  kUint8 = 11,
  kUint16 = 12,
  kUint32 = 13,
  kUint64 = 14,
  kJson = 19,
  kBson = 20,
  kInterval = 21
};

/// How a column's stored values become a record batch's.
enum class Conversion {
  kBool,
  kInt,         // int32 and int64 as they are
  kUint32,      // int32 holding an unsigned value
  kUint64,      // int64 holding an unsigned value: a decimal(20,0)
  kScaledInt,   // time and timestamp units: multiplied (millis) or divided (nanos) to micros
  kInt96,       // the legacy timestamp: nanoseconds of the day and a Julian day
  kDecimalInt,  // unscaled int32/int64
  kDecimalBytes,
  kFloatDouble,
  kBytes,  // text, json, binary, uuid
};

struct SchemaNode {
  std::string name;
  int type = -1;  // physical type; -1 for a group
  int type_length = 0;
  int repetition = kRequired;
  int children = 0;
  int converted = -1;
  int scale = 0, precision = 0;
  int32_t field_id = -1;
  // The logical type annotation (the union's member id, and its parameters).
  int logical = 0;
  bool utc = false;
  int unit = 0;  // 1 millis, 2 micros, 3 nanos
  int bit_width = 0;
  bool is_signed = true;
};

/// What a column of the file is read as.
struct ColumnPlan {
  int leaf = -1;  // its column chunk in each row group
  int physical = 0;
  int type_length = 0;
  int max_def = 0;
  Conversion conversion = Conversion::kBytes;
  int scale = 0;
  int64_t multiply = 1, divide = 1;
  /// Dates and timestamps: values this far from 0 are infinite (INT32_MAX days, INT64_MAX of the
  /// unit); 0 for other types.
  int64_t infinite = 0;
};

struct ChunkMeta {
  int codec = 0;
  int64_t values = 0;
  int64_t start = 0, length = 0;  // the dictionary page's (or first data page's) offset, and the chunk's size
};

struct RowGroupMeta {
  int64_t rows = 0;
  std::vector<ChunkMeta> chunks;  // per leaf
};

}  // namespace

struct ParquetReader::Meta {
  std::vector<ColumnPlan> plans;  // per column of columns()
  std::vector<RowGroupMeta> groups;
};

namespace {

Status Corrupt(const std::string& name, std::string_view what) {
  return Status::InvalidInput("{}: not a readable Parquet file ({})", name, what);
}

// ---- The footer ----

void ReadTimeUnit(CompactReader& r, SchemaNode& n) {
  r.BeginStruct();
  int16_t id;
  uint8_t wire;
  while (r.NextField(&id, &wire)) {
    n.unit = id;
    r.Skip(wire);
  }
}

void ReadLogicalType(CompactReader& r, SchemaNode& n) {
  r.BeginStruct();
  int16_t id;
  uint8_t wire;
  while (r.NextField(&id, &wire)) {
    n.logical = id;
    if (wire != CompactReader::kStruct) {
      r.Skip(wire);
      continue;
    }
    r.BeginStruct();
    int16_t fid;
    uint8_t fw;
    while (r.NextField(&fid, &fw)) {
      if (id == 5 && fid == 1) {
        n.scale = r.I32();
      } else if (id == 5 && fid == 2) {
        n.precision = r.I32();
      } else if ((id == 7 || id == 8) && fid == 1) {
        n.utc = r.Bool(fw);
      } else if ((id == 7 || id == 8) && fid == 2) {
        ReadTimeUnit(r, n);
      } else if (id == 10 && fid == 1) {
        n.bit_width = r.I8();
      } else if (id == 10 && fid == 2) {
        n.is_signed = r.Bool(fw);
      } else {
        r.Skip(fw);
      }
    }
  }
}

SchemaNode ReadSchemaElement(CompactReader& r) {
  SchemaNode n;
  r.BeginStruct();
  int16_t id;
  uint8_t wire;
  while (r.NextField(&id, &wire)) {
    switch (id) {
      case 1:
        n.type = r.I32();
        break;
      case 2:
        n.type_length = r.I32();
        break;
      case 3:
        n.repetition = r.I32();
        break;
      case 4:
        n.name = std::string(r.Binary());
        break;
      case 5:
        n.children = r.I32();
        break;
      case 6:
        n.converted = r.I32();
        break;
      case 7:
        n.scale = r.I32();
        break;
      case 8:
        n.precision = r.I32();
        break;
      case 9:
        n.field_id = r.I32();
        break;
      case 10:
        ReadLogicalType(r, n);
        break;
      default:
        r.Skip(wire);
    }
  }
  return n;
}

ChunkMeta ReadColumnMeta(CompactReader& r) {
  ChunkMeta c;
  int64_t data_offset = 0, dictionary_offset = 0;
  r.BeginStruct();
  int16_t id;
  uint8_t wire;
  while (r.NextField(&id, &wire)) {
    switch (id) {
      case 4:
        c.codec = r.I32();
        break;
      case 5:
        c.values = r.I64();
        break;
      case 7:
        c.length = r.I64();
        break;
      case 9:
        data_offset = r.I64();
        break;
      case 11:
        dictionary_offset = r.I64();
        break;
      default:
        r.Skip(wire);
    }
  }
  // Some writers record a dictionary offset of 0 for "none".
  c.start = dictionary_offset > 0 && dictionary_offset < data_offset ? dictionary_offset : data_offset;
  return c;
}

RowGroupMeta ReadRowGroup(CompactReader& r) {
  RowGroupMeta g;
  r.BeginStruct();
  int16_t id;
  uint8_t wire;
  while (r.NextField(&id, &wire)) {
    if (id == 1 && wire == CompactReader::kList) {
      uint8_t element;
      for (size_t n = r.List(&element); n > 0 && !r.failed(); --n) {
        ChunkMeta chunk;
        r.BeginStruct();
        int16_t cid;
        uint8_t cw;
        while (r.NextField(&cid, &cw)) {
          if (cid == 3) {
            chunk = ReadColumnMeta(r);
          } else {
            r.Skip(cw);
          }
        }
        g.chunks.push_back(chunk);
      }
    } else if (id == 3) {
      g.rows = r.I64();
    } else {
      r.Skip(wire);
    }
  }
  return g;
}

/// The type a flat column is read as, or why it cannot be.
Result<ColumnPlan> PlanColumn(const SchemaNode& n, LogicalType* type) {
  ColumnPlan p;
  p.physical = n.type;
  p.type_length = n.type_length;
  p.max_def = n.repetition == kOptional ? 1 : 0;
  const bool decimal = n.logical == 5 || n.converted == kDecimal;
  const bool text = n.logical == 1 || n.logical == 4 || n.converted == kUtf8 || n.converted == kEnum;
  const bool json = n.logical == 12 || n.converted == kJson;
  const bool date = n.logical == 6 || n.converted == kDate;
  // Time and timestamp: the unit (1 millis, 2 micros, 3 nanos) of the annotation.
  int time_unit = n.logical == 7 ? n.unit : n.converted == kTimeMillis ? 1 : n.converted == kTimeMicros ? 2 : 0;
  int ts_unit = n.logical == 8 ? n.unit : n.converted == kTimestampMillis ? 1 : n.converted == kTimestampMicros ? 2 : 0;
  // A timestamp without the new annotation (a converted type only) is in UTC.
  bool utc = n.logical == 8 ? n.utc : true;
  bool is_unsigned = (n.logical == 10 && !n.is_signed) || (n.converted >= kUint8 && n.converted <= kUint64);
  auto scaled = [&](int unit) {
    if (unit == 1) p.multiply = 1000;
    if (unit == 3) p.divide = 1000;
    p.conversion = Conversion::kScaledInt;
  };
  if (decimal && (n.precision < 1 || n.precision > 38 || n.scale < 0 || n.scale > n.precision)) {
    return Status::InvalidInput("decimal({},{}) is beyond what nilus reads (precision 1 to 38)", n.precision, n.scale);
  }
  switch (n.type) {
    case kBoolean:
      *type = LogicalType::Bool();
      p.conversion = Conversion::kBool;
      return p;
    case kInt32:
    case kInt64:
      if (decimal) {
        *type = LogicalType::Decimal(n.precision, n.scale);
        p.conversion = Conversion::kDecimalInt;
        p.scale = n.scale;
      } else if (date && n.type == kInt32) {
        *type = LogicalType::Date();
        p.conversion = Conversion::kScaledInt;
        p.infinite = INT32_MAX;
      } else if (time_unit) {
        *type = LogicalType::Time();
        scaled(time_unit);
      } else if (ts_unit && n.type == kInt64) {
        *type = utc ? LogicalType::TimestampTz() : LogicalType::Timestamp();
        scaled(ts_unit);
        p.infinite = INT64_MAX;
      } else if (is_unsigned && n.type == kInt64) {
        *type = LogicalType::Decimal(20, 0);
        p.conversion = Conversion::kUint64;
      } else {
        *type = LogicalType::Bigint();
        p.conversion = is_unsigned ? Conversion::kUint32 : Conversion::kInt;
      }
      return p;
    case kInt96:
      *type = LogicalType::Timestamp();
      p.conversion = Conversion::kInt96;
      return p;
    case kFloat:
    case kDouble:
      *type = LogicalType::Double();
      p.conversion = Conversion::kFloatDouble;
      return p;
    case kByteArray:
    case kFixed:
      if (decimal) {
        if (n.type == kFixed && (n.type_length < 1 || n.type_length > 16)) {
          return Status::InvalidInput("a decimal of {} bytes is beyond what nilus reads (16)", n.type_length);
        }
        *type = LogicalType::Decimal(n.precision, n.scale);
        p.conversion = Conversion::kDecimalBytes;
        p.scale = n.scale;
      } else if (n.logical == 14 && n.type == kFixed && n.type_length == 16) {
        *type = LogicalType::Uuid();
      } else if (json) {
        *type = LogicalType::Json();
      } else if (text) {
        *type = LogicalType::Text();
      } else {
        *type = LogicalType::Binary();
      }
      if (n.type == kFixed && n.type_length < 1) return Status::InvalidInput("a fixed-length column of no bytes");
      return p;
    default:
      return Status::InvalidInput("physical type {} is unknown", n.type);
  }
}

// ---- Decoding ----

uint32_t LoadLE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

/// Reads a ULEB128 varint; false when the input ends first.
bool GetVarint(const char*& p, const char* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = static_cast<uint8_t>(*p++);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/// Unpacks little-endian bit-packed values of `width` bits from a byte range (zeros beyond it).
class BitReader {
 public:
  BitReader(const char* p, const char* end, int width) : p_(p), end_(end), width_(width) {}
  uint64_t Get() {
    while (bits_ < width_) {
      uint64_t byte = p_ < end_ ? static_cast<uint8_t>(*p_++) : 0;
      acc_ |= byte << bits_;
      bits_ += 8;
    }
    uint64_t v = width_ == 64 ? acc_ : acc_ & ((uint64_t{1} << width_) - 1);
    acc_ = width_ == 64 ? 0 : acc_ >> width_;
    bits_ -= width_;
    return v;
  }

 private:
  const char* p_;
  const char* end_;
  int width_;
  uint64_t acc_ = 0;
  int bits_ = 0;
};

/// The RLE / bit-packed hybrid encoding (levels, dictionary indices, booleans).
class RleDecoder {
 public:
  RleDecoder(const char* p, const char* end, int width) : p_(p), end_(end), width_(width), bits_(p, p, width) {}

  /// Decodes `n` values into `out`; false when the input holds fewer.
  bool Get(size_t n, uint32_t* out) {
    while (n > 0) {
      if (left_ == 0 && !NextRun()) return false;
      size_t take = std::min<size_t>(n, left_);
      if (packed_) {
        for (size_t i = 0; i < take; ++i) out[i] = static_cast<uint32_t>(bits_.Get());
      } else {
        std::fill(out, out + take, value_);
      }
      out += take;
      n -= take;
      left_ -= take;
    }
    return true;
  }

 private:
  bool NextRun() {
    uint64_t header;
    if (!GetVarint(p_, end_, &header) || header == 0) return false;
    if (header & 1) {
      uint64_t groups = header >> 1;
      uint64_t bytes = groups * static_cast<uint64_t>(width_);
      if (groups > (1u << 28)) return false;
      const char* run_end = bytes > static_cast<uint64_t>(end_ - p_) ? end_ : p_ + bytes;
      bits_ = BitReader(p_, run_end, width_);
      p_ = run_end;
      packed_ = true;
      left_ = groups * 8;
    } else {
      int bytes = (width_ + 7) / 8;
      if (end_ - p_ < bytes) return false;
      value_ = 0;
      for (int i = 0; i < bytes; ++i) value_ |= static_cast<uint32_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
      p_ += bytes;
      packed_ = false;
      left_ = header >> 1;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  int width_;
  BitReader bits_;
  bool packed_ = false;
  uint32_t value_ = 0;
  uint64_t left_ = 0;
};

/// DELTA_BINARY_PACKED: `count` integers; `p` ends past them.
bool DecodeDeltas(const char*& p, const char* end, int64_t count, std::vector<int64_t>& out) {
  uint64_t block, miniblocks, total, zz;
  if (!GetVarint(p, end, &block) || !GetVarint(p, end, &miniblocks) || !GetVarint(p, end, &total) ||
      !GetVarint(p, end, &zz)) {
    return false;
  }
  if (miniblocks == 0 || block == 0 || block % miniblocks != 0 || total != static_cast<uint64_t>(count)) {
    return false;
  }
  const uint64_t per_mini = block / miniblocks;
  out.clear();
  out.reserve(total);
  uint64_t value = (zz >> 1) ^ -(zz & 1);
  if (total > 0) out.push_back(static_cast<int64_t>(value));
  while (out.size() < total) {
    uint64_t min_zz;
    if (!GetVarint(p, end, &min_zz) || static_cast<uint64_t>(end - p) < miniblocks) return false;
    uint64_t min_delta = (min_zz >> 1) ^ -(min_zz & 1);
    const char* widths = p;
    p += miniblocks;
    for (uint64_t m = 0; m < miniblocks && out.size() < total; ++m) {
      int width = static_cast<uint8_t>(widths[m]);
      if (width > 64) return false;
      uint64_t bytes = per_mini * width / 8;
      if (bytes > static_cast<uint64_t>(end - p)) return false;
      BitReader bits(p, p + bytes, width);
      p += bytes;
      for (uint64_t i = 0; i < per_mini && out.size() < total; ++i) {
        value += min_delta + (width ? bits.Get() : 0);
        out.push_back(static_cast<int64_t>(value));
      }
    }
  }
  return true;
}

/// Decompresses a page.
class Decompressor {
 public:
  ~Decompressor() { ZSTD_freeDCtx(zstd_); }

  Status Run(int codec, const char* in, size_t in_size, size_t out_size, std::string& out, const std::string& name) {
    out.resize(out_size);
    switch (codec) {
      case kSnappy: {
        size_t n = out_size;
        if (snappy_uncompress(in, in_size, out.data(), &n) != SNAPPY_OK || n != out_size) break;
        return Status::OK();
      }
      case kZstd: {
        if (!zstd_) zstd_ = ZSTD_createDCtx();
        size_t n = ZSTD_decompressDCtx(zstd_, out.data(), out_size, in, in_size);
        if (ZSTD_isError(n) || n != out_size) break;
        return Status::OK();
      }
      case kGzip: {
        z_stream z{};
        if (inflateInit2(&z, 15 + 32) != Z_OK) break;  // a gzip or zlib header
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
        z.avail_in = static_cast<uInt>(in_size);
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out_size);
        int rc = inflate(&z, Z_FINISH);
        size_t n = out_size - z.avail_out;
        inflateEnd(&z);
        if (rc != Z_STREAM_END || n != out_size) break;
        return Status::OK();
      }
      case kLz4Raw: {
        int n = LZ4_decompress_safe(in, out.data(), static_cast<int>(in_size), static_cast<int>(out_size));
        if (n < 0 || static_cast<size_t>(n) != out_size) break;
        return Status::OK();
      }
      default: {
        const char* names[] = {"uncompressed", "snappy", "gzip", "lzo", "brotli", "lz4 (hadoop framing)"};
        std::string codec_name = codec >= 0 && codec < 6 ? names[codec] : std::to_string(codec);
        return Status::InvalidInput(
            "{}: pages compressed with {} are not read by nilus (it reads uncompressed, snappy, gzip, zstd and "
            "lz4_raw); rewrite the file with one of those",
            name, codec_name);
      }
    }
    return Corrupt(name, "a page does not decompress");
  }

 private:
  ZSTD_DCtx* zstd_ = nullptr;
};

}  // namespace

// ---- A column chunk ----

/// Reads one column chunk of a row group page by page. The chunk's bytes are fetched in
/// windows; each data page is decoded whole (its levels and values) and handed out in parts.
class ParquetReader::ColumnChunk {
 public:
  /// A page of more values is taken for damage (writers cut pages at a few MiB).
  static constexpr int64_t kMaxPageValues = 64 << 20;

  ColumnChunk(const std::string& name, const FileColumn& column, const ColumnPlan& plan, const ChunkMeta& meta,
              int64_t rows, const ReadAt& read, int64_t window)
      : name_(name),
        column_(column),
        plan_(plan),
        meta_(meta),
        read_(read),
        window_(window),
        at_(meta.start),
        rows_left_(rows) {}

  /// Appends the next `n` values (NULLs included) to `out`.
  Status Read(int64_t n, Column& out) {
    while (n > 0) {
      if (page_left_ == 0) NILUS_RETURN_NOT_OK(NextDataPage());
      int64_t take = std::min(n, page_left_);
      NILUS_RETURN_NOT_OK(Emit(take, out));
      page_left_ -= take;
      n -= take;
    }
    return Status::OK();
  }

 private:
  /// The decoded values of a page (or of the dictionary): integers (booleans, int32, int64),
  /// doubles, or byte strings (byte arrays, fixed-length, int96) pointing into `owner`.
  struct Values {
    std::vector<int64_t> ints;
    std::vector<double> doubles;
    std::vector<std::string_view> bytes;
    std::string owner;
    void Clear() {
      ints.clear();
      doubles.clear();
      bytes.clear();
    }
  };

  Status Error(std::string_view what) const {
    return Corrupt(name_, fmt::format("column '{}': {}", column_.name, what));
  }

  /// Makes the bytes [at, at + n) of the file available in `buffer_`; returns where they start.
  Result<const char*> Fetch(int64_t at, int64_t n) {
    if (at < buffer_at_ || at + n > buffer_at_ + static_cast<int64_t>(buffer_.size())) {
      int64_t chunk_end = meta_.start + meta_.length;
      int64_t length = std::max(n, std::min(window_, chunk_end - at));
      NILUS_ASSIGN_OR_RAISE(buffer_, read_(at, length));
      buffer_at_ = at;
      if (static_cast<int64_t>(buffer_.size()) < n) return Error("the file ends inside a column chunk");
    }
    return buffer_.data() + (at - buffer_at_);
  }

  struct PageHeader {
    int type = -1;
    int32_t uncompressed = 0, compressed = 0;
    int32_t values = 0;
    int encoding = 0;
    int32_t def_bytes = 0, rep_bytes = 0;  // v2
    bool compressed_v2 = true;
  };

  static void ReadDataHeader(CompactReader& r, PageHeader& h, bool v2) {
    r.BeginStruct();
    int16_t id;
    uint8_t wire;
    while (r.NextField(&id, &wire)) {
      if (id == 1) {
        h.values = r.I32();
      } else if (!v2 && id == 2) {
        h.encoding = r.I32();
      } else if (v2 && id == 4) {
        h.encoding = r.I32();
      } else if (v2 && id == 5) {
        h.def_bytes = r.I32();
      } else if (v2 && id == 6) {
        h.rep_bytes = r.I32();
      } else if (v2 && id == 7) {
        h.compressed_v2 = r.Bool(wire);
      } else {
        r.Skip(wire);
      }
    }
  }

  /// Reads the page header at `at_`; the page's bytes follow it.
  Result<PageHeader> ReadHeader() {
    const int64_t chunk_end = meta_.start + meta_.length;
    // A header is small unless it carries large statistics: try 64 KiB, then more.
    for (int64_t want = 64 << 10;; want *= 4) {
      int64_t n = std::min(want, chunk_end - at_);
      if (n <= 0) return Error("a column chunk ends before its values");
      NILUS_ASSIGN_OR_RAISE(const char* p, Fetch(at_, n));
      CompactReader r(p, static_cast<size_t>(n));
      PageHeader h;
      r.BeginStruct();
      int16_t id;
      uint8_t wire;
      while (r.NextField(&id, &wire)) {
        if (id == 1) {
          h.type = r.I32();
        } else if (id == 2) {
          h.uncompressed = r.I32();
        } else if (id == 3) {
          h.compressed = r.I32();
        } else if (id == 5 || id == 7 || id == 8) {
          ReadDataHeader(r, h, id == 8);
        } else {
          r.Skip(wire);
        }
      }
      if (!r.failed()) {
        at_ += static_cast<int64_t>(r.consumed(p));
        if (h.compressed < 0 || h.uncompressed < 0 || h.values < 0 || h.def_bytes < 0 || h.rep_bytes < 0 ||
            h.def_bytes + h.rep_bytes > h.compressed || at_ + h.compressed > chunk_end) {
          return Error("a page header is malformed");
        }
        return h;
      }
      if (n == chunk_end - at_ || want > (64 << 20)) return Error("a page header is malformed");
    }
  }

  /// The page's bytes, decompressed (for v2, the levels stay as they are and come first).
  Result<std::string_view> PageBytes(const PageHeader& h, bool v2) {
    NILUS_ASSIGN_OR_RAISE(const char* p, Fetch(at_, h.compressed));
    at_ += h.compressed;
    size_t levels = v2 ? static_cast<size_t>(h.def_bytes + h.rep_bytes) : 0;
    if (meta_.codec == kUncompressed || (v2 && !h.compressed_v2)) {
      page_.assign(p, static_cast<size_t>(h.compressed));
      return std::string_view(page_);
    }
    if (static_cast<size_t>(h.uncompressed) < levels) return Error("a page header is malformed");
    NILUS_RETURN_NOT_OK(
        decompress_.Run(meta_.codec, p + levels, h.compressed - levels, h.uncompressed - levels, scratch_, name_));
    page_.assign(p, levels);
    page_ += scratch_;
    return std::string_view(page_);
  }

  Status NextDataPage() {
    while (true) {
      if (at_ >= meta_.start + meta_.length) return Error("a column chunk holds fewer values than its row group");
      NILUS_ASSIGN_OR_RAISE(PageHeader h, ReadHeader());
      if (h.type == kDictionaryPage) {
        NILUS_ASSIGN_OR_RAISE(std::string_view bytes, PageBytes(h, false));
        dictionary_ = Values();
        dictionary_.owner.assign(bytes);
        const char* p = dictionary_.owner.data();
        NILUS_RETURN_NOT_OK(DecodePlain(p, p + dictionary_.owner.size(), h.values, dictionary_));
        has_dictionary_ = true;
        continue;
      }
      if (h.type != kDataPage && h.type != kDataPageV2) {
        at_ += h.compressed;  // an index page
        continue;
      }
      const bool v2 = h.type == kDataPageV2;
      if (h.values > rows_left_) return Error("a page holds more values than its row group has rows");
      if (h.values > kMaxPageValues) return Error("a page holds more than 64 million values");
      rows_left_ -= h.values;
      NILUS_ASSIGN_OR_RAISE(std::string_view bytes, PageBytes(h, v2));
      const char* p = bytes.data();
      const char* end = p + bytes.size();
      // Definition levels (0: NULL, 1: a value) of an optional column.
      levels_.clear();
      int64_t present = h.values;
      if (plan_.max_def > 0) {
        levels_.resize(h.values);
        const char* levels_end;
        if (v2) {
          p += h.rep_bytes;
          levels_end = p + h.def_bytes;
        } else {
          if (end - p < 4) return Error("a page ends inside its levels");
          uint32_t n = LoadLE32(p);
          p += 4;
          if (n > static_cast<uint64_t>(end - p)) return Error("a page ends inside its levels");
          levels_end = p + n;
        }
        RleDecoder levels(p, levels_end, 1);
        if (!levels.Get(levels_.size(), levels_.data()) ||
            std::any_of(levels_.begin(), levels_.end(), [](uint32_t l) { return l > 1; })) {
          return Error("its definition levels are malformed");
        }
        p = levels_end;
        present = std::count(levels_.begin(), levels_.end(), 1u);
      } else if (v2) {
        p += h.rep_bytes + h.def_bytes;
      }
      NILUS_RETURN_NOT_OK(DecodeValues(h.encoding, p, end, present));
      page_left_ = h.values;
      level_at_ = 0;
      value_at_ = 0;
      return Status::OK();
    }
  }

  /// Decodes a data page's `n` non-NULL values.
  Status DecodeValues(int encoding, const char* p, const char* end, int64_t n) {
    values_.Clear();
    indices_.clear();
    switch (encoding) {
      case kPlain:
        return DecodePlain(p, end, n, values_);
      case kPlainDictionary:
      case kRleDictionary: {
        if (!has_dictionary_) return Error("a dictionary-encoded page without a dictionary");
        if (n == 0) return Status::OK();
        if (p >= end) return Error("a dictionary-encoded page is empty");
        int width = static_cast<uint8_t>(*p++);
        if (width > 32) return Error("dictionary indices are malformed");
        indices_.resize(n);
        RleDecoder decoder(p, end, width);
        if (!decoder.Get(indices_.size(), indices_.data())) return Error("dictionary indices are malformed");
        size_t size = DictionarySize();
        for (uint32_t i : indices_) {
          if (i >= size) return Error("a dictionary index is out of range");
        }
        return Status::OK();
      }
      case kRle: {
        if (plan_.physical != kBoolean) return Error("RLE encodes only booleans");
        if (end - p < 4) return Error("a page ends early");
        const char* start = p + 4;
        uint32_t bytes = LoadLE32(p);
        if (bytes > static_cast<uint64_t>(end - start)) return Error("a page ends early");
        std::vector<uint32_t> bits(n);
        RleDecoder decoder(start, start + bytes, 1);
        if (!decoder.Get(bits.size(), bits.data())) return Error("booleans are malformed");
        values_.ints.assign(bits.begin(), bits.end());
        return Status::OK();
      }
      case kDeltaBinaryPacked:
        if (plan_.physical != kInt32 && plan_.physical != kInt64) return Error("a delta encoding of non-integers");
        if (!DecodeDeltas(p, end, n, values_.ints)) {
          return Error("delta-encoded integers are malformed");
        }
        if (plan_.physical == kInt32) {
          for (auto& v : values_.ints) v = static_cast<int32_t>(v);
        }
        return Status::OK();
      case kDeltaLengthByteArray:
      case kDeltaByteArray:
        return DecodeDeltaBytes(encoding, p, end, n);
      case kByteStreamSplit:
        return DecodeByteStreamSplit(p, end, n);
      default:
        return Status::InvalidInput("{}: column '{}': encoding {} is not read by nilus", name_, column_.name, encoding);
    }
  }

  size_t DictionarySize() const {
    return std::max({dictionary_.ints.size(), dictionary_.doubles.size(), dictionary_.bytes.size()});
  }

  /// Width in bytes of a fixed-size physical value (0 for byte arrays, booleans).
  int FixedWidth() const {
    switch (plan_.physical) {
      case kInt32:
      case kFloat:
        return 4;
      case kInt64:
      case kDouble:
        return 8;
      case kInt96:
        return 12;
      case kFixed:
        return plan_.type_length;
      default:
        return 0;
    }
  }

  Status DecodePlain(const char* p, const char* end, int64_t n, Values& out) {
    const auto need = [&](int64_t bytes) { return bytes <= end - p; };
    switch (plan_.physical) {
      case kBoolean: {
        if (!need((n + 7) / 8)) return Error("a page ends early");
        out.ints.resize(n);
        for (int64_t i = 0; i < n; ++i) out.ints[i] = (static_cast<uint8_t>(p[i >> 3]) >> (i & 7)) & 1;
        return Status::OK();
      }
      case kInt32: {
        if (!need(n * 4)) return Error("a page ends early");
        out.ints.resize(n);
        for (int64_t i = 0; i < n; ++i) out.ints[i] = static_cast<int32_t>(LoadLE32(p + 4 * i));
        return Status::OK();
      }
      case kInt64:
        if (!need(n * 8)) return Error("a page ends early");
        out.ints.resize(n);
        if (n > 0) std::memcpy(out.ints.data(), p, n * 8);
        return Status::OK();
      case kFloat: {
        if (!need(n * 4)) return Error("a page ends early");
        out.doubles.resize(n);
        for (int64_t i = 0; i < n; ++i) {
          float f;
          std::memcpy(&f, p + 4 * i, 4);
          out.doubles[i] = f;
        }
        return Status::OK();
      }
      case kDouble:
        if (!need(n * 8)) return Error("a page ends early");
        out.doubles.resize(n);
        if (n > 0) std::memcpy(out.doubles.data(), p, n * 8);
        return Status::OK();
      case kByteArray: {
        if (n > (end - p) / 4) return Error("a page ends early");
        out.bytes.resize(n);
        for (int64_t i = 0; i < n; ++i) {
          if (!need(4)) return Error("a page ends early");
          uint32_t len = LoadLE32(p);
          p += 4;
          if (!need(len)) return Error("a page ends early");
          out.bytes[i] = std::string_view(p, len);
          p += len;
        }
        return Status::OK();
      }
      default: {  // fixed-length and int96
        int width = FixedWidth();
        if (!need(n * width)) return Error("a page ends early");
        out.bytes.resize(n);
        for (int64_t i = 0; i < n; ++i) out.bytes[i] = std::string_view(p + i * width, width);
        return Status::OK();
      }
    }
  }

  /// DELTA_LENGTH_BYTE_ARRAY (lengths, then the bytes) and DELTA_BYTE_ARRAY (prefix lengths,
  /// then the suffixes as DELTA_LENGTH_BYTE_ARRAY); the values are built in `owner`.
  Status DecodeDeltaBytes(int encoding, const char* p, const char* end, int64_t n) {
    if (plan_.physical != kByteArray && plan_.physical != kFixed) return Error("a byte-array encoding of numbers");
    std::vector<int64_t> prefixes, lengths;
    if (encoding == kDeltaByteArray && !DecodeDeltas(p, end, n, prefixes)) {
      return Error("delta-encoded prefixes are malformed");
    }
    if (!DecodeDeltas(p, end, n, lengths)) {
      return Error("delta-encoded lengths are malformed");
    }
    std::string& owner = values_.owner;
    owner.clear();
    std::vector<std::pair<size_t, size_t>> spans(n);  // offsets into owner
    size_t previous_at = 0, previous_len = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t prefix = prefixes.empty() ? 0 : prefixes[i];
      if (lengths[i] < 0 || lengths[i] > end - p || prefix < 0 || static_cast<size_t>(prefix) > previous_len) {
        return Error("delta-encoded byte arrays are malformed");
      }
      size_t at = owner.size();
      owner.append(owner, previous_at, static_cast<size_t>(prefix));
      owner.append(p, static_cast<size_t>(lengths[i]));
      p += lengths[i];
      spans[i] = {at, owner.size() - at};
      previous_at = at;
      previous_len = owner.size() - at;
    }
    values_.bytes.resize(n);
    for (int64_t i = 0; i < n; ++i) values_.bytes[i] = std::string_view(owner).substr(spans[i].first, spans[i].second);
    return Status::OK();
  }

  Status DecodeByteStreamSplit(const char* p, const char* end, int64_t n) {
    int width = FixedWidth();
    if (width == 0 || plan_.physical == kInt96) return Error("byte-stream-split of a type without a fixed width");
    if (n * width > end - p) return Error("a page ends early");
    std::string& owner = values_.owner;
    owner.resize(n * width);
    for (int64_t i = 0; i < n; ++i) {
      for (int b = 0; b < width; ++b) owner[i * width + b] = p[b * n + i];
    }
    const char* q = owner.data();
    return DecodePlain(q, q + owner.size(), n, values_);
  }

  /// Appends `n` rows of the current page.
  Status Emit(int64_t n, Column& out) {
    const Values& v = indices_.empty() ? values_ : dictionary_;
    auto each = [&](auto&& append) {
      for (int64_t i = 0; i < n; ++i) {
        if (plan_.max_def > 0 && levels_[level_at_++] == 0) {
          out.AppendNull();
          continue;
        }
        size_t at = indices_.empty() ? value_at_ : indices_[value_at_];
        ++value_at_;
        append(at);
      }
    };
    // A value a page claims but does not hold.
    int64_t present =
        plan_.max_def > 0 ? std::count(levels_.begin() + level_at_, levels_.begin() + level_at_ + n, 1u) : n;
    size_t have = indices_.empty() ? std::max({v.ints.size(), v.doubles.size(), v.bytes.size()}) : indices_.size();
    if (value_at_ + static_cast<size_t>(present) > have) return Error("a page holds fewer values than its header says");
    char text[kMaxFormattedValue];
    switch (plan_.conversion) {
      case Conversion::kBool:
        each([&](size_t i) { out.AppendBool(v.ints[i] != 0); });
        break;
      case Conversion::kInt:
        each([&](size_t i) { out.AppendInt64(v.ints[i]); });
        break;
      case Conversion::kUint32:
        each([&](size_t i) { out.AppendInt64(static_cast<uint32_t>(v.ints[i])); });
        break;
      case Conversion::kUint64:
        each([&](size_t i) { out.AppendBytes(std::to_string(static_cast<uint64_t>(v.ints[i]))); });
        break;
      case Conversion::kScaledInt:
        each([&](size_t i) {
          int64_t x = v.ints[i];
          if (plan_.infinite > 0 && (x >= plan_.infinite || x <= -plan_.infinite)) {
            // Infinite dates and timestamps (DuckDB's and PostgreSQL's forms), whatever the unit.
            out.AppendInt64(x > 0 ? kPlusInfinity : kMinusInfinity);
            return;
          }
          if (plan_.divide > 1) {
            x = x / plan_.divide - (x % plan_.divide < 0 ? 1 : 0);  // floor: before 1970 too
          } else if (plan_.multiply > 1) {
            x = __builtin_mul_overflow(x, plan_.multiply, &x) ? (v.ints[i] < 0 ? kMinusInfinity : kPlusInfinity) : x;
          }
          out.AppendInt64(x);
        });
        break;
      case Conversion::kInt96:
        each([&](size_t i) {
          const char* b = v.bytes[i].data();
          int64_t nanos;
          std::memcpy(&nanos, b, 8);
          int64_t julian = static_cast<int32_t>(LoadLE32(b + 8));
          // Wrapping arithmetic: a damaged value is a wrong value, not undefined behaviour.
          const uint64_t micros =
              static_cast<uint64_t>(julian - 2440588) * 86400000000ULL + static_cast<uint64_t>(nanos / 1000);
          out.AppendInt64(static_cast<int64_t>(micros));
        });
        break;
      case Conversion::kDecimalInt:
        each([&](size_t i) { out.AppendBytes({text, FormatUnscaledTo(v.ints[i], plan_.scale, text)}); });
        break;
      case Conversion::kDecimalBytes: {
        bool too_long = false;
        each([&](size_t i) {
          std::string_view b = v.bytes[i];
          if (b.size() > 16) {
            too_long = true;
            out.AppendNull();
            return;
          }
          // Big-endian two's complement.
          unsigned __int128 u = 0;
          for (char c : b) u = u << 8 | static_cast<uint8_t>(c);
          auto x = static_cast<__int128>(u);
          if (!b.empty() && b.size() < 16 && (static_cast<uint8_t>(b[0]) & 0x80)) {
            x -= static_cast<__int128>(1) << (8 * b.size());
          }
          out.AppendBytes({text, FormatUnscaledTo(x, plan_.scale, text)});
        });
        if (too_long) return Error("a decimal value is longer than 16 bytes");
        break;
      }
      case Conversion::kFloatDouble:
        each([&](size_t i) { out.AppendDouble(v.doubles[i]); });
        break;
      case Conversion::kBytes:
        if (column_.type.id == TypeId::kUuid) {
          bool wrong = false;
          each([&](size_t i) {
            wrong = wrong || v.bytes[i].size() != 16;
            out.AppendBytes(v.bytes[i]);
          });
          if (wrong) return Error("a uuid is not 16 bytes");
        } else {
          each([&](size_t i) { out.AppendBytes(v.bytes[i]); });
        }
        break;
    }
    return Status::OK();
  }

  const std::string& name_;
  const FileColumn& column_;
  ColumnPlan plan_;
  ChunkMeta meta_;
  const ReadAt& read_;
  int64_t window_;
  int64_t at_;         // the next page header's offset in the file
  int64_t rows_left_;  // the rows of the row group not in a page read yet
  std::string buffer_;
  int64_t buffer_at_ = 0;
  std::string page_, scratch_;
  Decompressor decompress_;
  Values dictionary_, values_;
  bool has_dictionary_ = false;
  std::vector<uint32_t> levels_, indices_;
  int64_t page_left_ = 0;
  size_t level_at_ = 0, value_at_ = 0;
};

// ---- The file ----

ParquetReader::ParquetReader(std::string name, ReadAt read, std::unique_ptr<Meta> meta)
    : name_(std::move(name)), read_(std::move(read)), meta_(std::move(meta)) {}

ParquetReader::~ParquetReader() = default;

Result<std::unique_ptr<ParquetReader>> ParquetReader::Open(std::string name, int64_t size, ReadAt read) {
  if (size < 12) return Corrupt(name, "too short");
  // The footer: its length and the magic number end the file; read the last 64 KiB at once.
  int64_t tail_length = std::min<int64_t>(size, 64 << 10);
  NILUS_ASSIGN_OR_RAISE(std::string tail, read(size - tail_length, tail_length));
  if (static_cast<int64_t>(tail.size()) != tail_length || tail.compare(tail.size() - 4, 4, "PAR1") != 0) {
    return Corrupt(name, "it does not end with PAR1");
  }
  const int64_t footer_length = LoadLE32(tail.data() + tail.size() - 8);
  if (footer_length + 8 > size - 4) return Corrupt(name, "the footer length is wrong");
  if (footer_length + 8 > tail_length) {
    NILUS_ASSIGN_OR_RAISE(tail, read(size - 8 - footer_length, footer_length + 8));
  }
  const char* footer = tail.data() + tail.size() - 8 - footer_length;

  auto meta = std::make_unique<Meta>();
  std::vector<SchemaNode> nodes;
  int64_t num_rows = 0;
  CompactReader r(footer, static_cast<size_t>(footer_length));
  r.BeginStruct();
  int16_t id;
  uint8_t wire;
  while (r.NextField(&id, &wire)) {
    if (id == 2 && wire == CompactReader::kList) {
      uint8_t element;
      for (size_t n = r.List(&element); n > 0 && !r.failed(); --n) nodes.push_back(ReadSchemaElement(r));
    } else if (id == 3) {
      num_rows = r.I64();
    } else if (id == 4 && wire == CompactReader::kList) {
      uint8_t element;
      for (size_t n = r.List(&element); n > 0 && !r.failed(); --n) meta->groups.push_back(ReadRowGroup(r));
    } else {
      r.Skip(wire);
    }
  }
  if (r.failed() || nodes.empty()) return Corrupt(name, "the footer is malformed");

  // The root's children are the columns; a group (or a repeated field) takes the leaves
  // beneath it.
  std::unique_ptr<ParquetReader> reader(new ParquetReader(std::move(name), std::move(read), std::move(meta)));
  reader->num_rows_ = num_rows;
  size_t at = 1;
  int leaf = 0;
  for (int c = 0; c < nodes[0].children; ++c) {
    if (at >= nodes.size()) return Corrupt(reader->name_, "the schema is malformed");
    const SchemaNode& n = nodes[at];
    FileColumn column{n.name, LogicalType::Binary(), n.repetition != kRequired, n.field_id, ""};
    ColumnPlan plan;
    if (n.type < 0 || n.children > 0 || n.repetition == kRepeated) {
      column.unsupported = "it is a nested column (a list, map or struct), which nilus does not read yet";
      // Skip the subtree: count the leaves under it.
      int pending = 1;
      while (pending > 0) {
        if (at >= nodes.size()) return Corrupt(reader->name_, "the schema is malformed");
        const SchemaNode& s = nodes[at++];
        --pending;
        if (s.type >= 0 && s.children == 0) {
          ++leaf;
        } else {
          if (s.children < 0 || s.children > static_cast<int>(nodes.size())) {
            return Corrupt(reader->name_, "the schema is malformed");
          }
          pending += s.children;
        }
      }
    } else {
      auto planned = PlanColumn(n, &column.type);
      if (planned.ok()) {
        plan = *planned;
        plan.leaf = leaf;
      } else {
        column.unsupported = planned.status().message();
      }
      ++leaf;
      ++at;
    }
    reader->columns_.push_back(std::move(column));
    reader->meta_->plans.push_back(plan);
  }
  for (const auto& g : reader->meta_->groups) {
    if (static_cast<int>(g.chunks.size()) != leaf) return Corrupt(reader->name_, "a row group lacks columns");
    for (const auto& chunk : g.chunks) {
      if (chunk.start < 4 || chunk.length < 0 || chunk.start + chunk.length > size) {
        return Corrupt(reader->name_, "a column chunk lies outside the file");
      }
    }
  }
  std::vector<int> all;
  for (size_t i = 0; i < reader->columns_.size(); ++i) {
    if (reader->columns_[i].unsupported.empty()) all.push_back(static_cast<int>(i));
  }
  NILUS_RETURN_NOT_OK(reader->Select(std::move(all)));
  return reader;
}

Status ParquetReader::Select(std::vector<int> columns) {
  Schema schema;
  for (int c : columns) {
    const FileColumn& column = columns_.at(c);
    if (!column.unsupported.empty()) {
      return Status::InvalidInput("{}: column '{}' cannot be read: {}; leave it out with sql-exclude-columns: [{}]",
                                  name_, column.name, column.unsupported, column.name);
    }
    schema.AddField({column.name, column.type, column.nullable});
  }
  selected_ = std::move(columns);
  schema_ = std::move(schema);
  return Status::OK();
}

Result<bool> ParquetReader::NextRowGroup() {
  chunks_.clear();
  while (next_group_ < static_cast<int>(meta_->groups.size())) {
    const RowGroupMeta& g = meta_->groups[next_group_++];
    if (g.rows <= 0) continue;
    // Each column reads its chunk in windows: 16 MiB over all selected columns.
    int64_t window = std::max<int64_t>(256 << 10, (16 << 20) / std::max<int64_t>(1, selected_.size()));
    for (int c : selected_) {
      const ColumnPlan& plan = meta_->plans[c];
      chunks_.push_back(
          std::make_unique<ColumnChunk>(name_, columns_[c], plan, g.chunks[plan.leaf], g.rows, read_, window));
    }
    group_left_ = g.rows;
    return true;
  }
  return false;
}

Status ParquetReader::ReadRows(int64_t rows, BatchBuilder& out) {
  for (size_t i = 0; i < chunks_.size(); ++i) NILUS_RETURN_NOT_OK(chunks_[i]->Read(rows, out.column(i)));
  group_left_ -= rows;
  return Status::OK();
}

Status ParquetReader::Skip(int64_t rows) {
  while (rows > 0) {
    if (group_left_ == 0) {
      // Whole row groups are passed over without reading them.
      while (next_group_ < static_cast<int>(meta_->groups.size()) && meta_->groups[next_group_].rows <= rows) {
        rows -= std::max<int64_t>(0, meta_->groups[next_group_++].rows);
      }
      if (rows == 0) return Status::OK();
      NILUS_ASSIGN_OR_RAISE(bool more, NextRowGroup());
      if (!more) return Status::InvalidInput("{}: holds fewer rows than an earlier run read", name_);
    }
    int64_t take = std::min<int64_t>({rows, group_left_, 65536});
    BatchBuilder discard(schema_);
    NILUS_RETURN_NOT_OK(ReadRows(take, discard));
    rows -= take;
  }
  return Status::OK();
}

Result<std::shared_ptr<const RecordBatch>> ParquetReader::Next(int64_t max_rows, int64_t max_bytes) {
  BatchBuilder out(schema_);
  constexpr int64_t kStep = 8192;
  while (out.num_rows() < max_rows && out.byte_size() < max_bytes) {
    if (group_left_ == 0) {
      NILUS_ASSIGN_OR_RAISE(bool more, NextRowGroup());
      if (!more) break;
    }
    int64_t take = std::min({max_rows - out.num_rows(), group_left_, kStep});
    if (selected_.empty()) {
      // No column selected: the rows still count.
      return Status::InvalidInput("{}: no column of the file is selected", name_);
    }
    NILUS_RETURN_NOT_OK(ReadRows(take, out));
  }
  if (out.num_rows() == 0) return std::shared_ptr<const RecordBatch>();
  return out.Finish();
}

}  // namespace nilus::parquet
