#include "nilus/connectors/files/files_source.h"

#include <fnmatch.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "nilus/core/identifiers.h"
#include "nilus/core/strings.h"
#include "nilus/core/text_values.h"
#include "nilus/core/values.h"
#include "nilus/formats/csv_reader.h"
#include "nilus/formats/output_file.h"
#include "nilus/formats/parquet/parquet_reader.h"
#include "nilus/storage/storage.h"

namespace nilus {

namespace {

using nlohmann::json;

enum class Format { kCsv, kJsonl, kParquet };

/// A batch is cut at `page-size` rows or at this many bytes, whichever comes first.
constexpr int64_t kMaxBatchBytes = 64 << 20;
/// A batch of JSON documents is cut at this many bytes of JSON: flattened and typed, documents
/// take several times their text's size (row ids, child tables), and batches of them wait in the
/// pipeline's queue.
constexpr int64_t kMaxDocumentBatchBytes = 4 << 20;

struct SourceFile {
  std::string path;  ///< its location: a local path, or s3://bucket/key (in the state and in messages)
  Format format;
  /// Where its bytes are read from: the path itself, or a local copy of an object (CSV and JSONL
  /// are read as streams; Parquet files by ranges, so they are never copied).
  std::string local;
};

Result<CsvDialect> DialectFromUri(const Uri& uri) {
  CsvDialect d;
  for (const auto& [key, value] : uri.query()) {
    if (key == "delimiter" || key == "sep") {
      std::string v = value == "\\t" || value == "tab" ? "\t" : value;
      if (v.size() != 1) {
        return Status::InvalidInput("{}: delimiter must be one character (or 'tab'), got '{}'", uri.Masked(), value);
      }
      d.delimiter = v[0];
    } else if (key == "quote") {
      if (value.size() != 1)
        return Status::InvalidInput("{}: quote must be one character, got '{}'", uri.Masked(), value);
      d.quote = value[0];
    } else if (key == "header") {
      if (!ParseBool(value, &d.header, true)) {
        return Status::InvalidInput("{}: header must be true or false, got '{}'", uri.Masked(), value);
      }
    } else if (key == "null") {
      d.null_string = value;
    } else if (key == "encoding") {
      std::string e = ToLower(value);
      if (e != "utf-8" && e != "utf8") {
        return Status::InvalidInput(
            "{}: encoding '{}' is not supported; Nilus reads UTF-8 (convert the file with "
            "iconv -f {} -t UTF-8)",
            uri.Masked(), value, value);
      }
    } else {
      std::string close = ClosestMatch(key, {"delimiter", "quote", "header", "null", "encoding"});
      return Status::InvalidInput("{}: unknown file option '{}'{}; allowed: delimiter, quote, header, null, encoding",
                                  uri.Masked(), key, close.empty() ? "" : " (did you mean '" + close + "'?)");
    }
  }
  return d;
}

bool HasGlobChars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

/// The objects of a bucket that `pattern` (s3://bucket/key, a glob: `*` does not cross a `/`)
/// names, in order.
Result<std::vector<std::string>> ExpandObjectPattern(Storage& storage, const std::string& pattern) {
  if (!HasGlobChars(pattern)) {
    NILUS_RETURN_NOT_OK(storage.Size(pattern).status().WithContext("check the address or source-table"));
    return std::vector<std::string>{pattern};
  }
  NILUS_ASSIGN_OR_RAISE(auto listed, storage.List(pattern.substr(0, pattern.find_first_of("*?["))));
  std::vector<std::string> out;
  for (auto& location : listed) {
    if (fnmatch(pattern.c_str(), location.c_str(), FNM_PATHNAME) == 0) out.push_back(std::move(location));
  }
  if (out.empty()) return Status::InvalidInput("no object matches {}", pattern);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> ExpandPattern(const std::string& pattern) {
  if (!HasGlobChars(pattern)) {
    struct stat st;
    if (stat(pattern.c_str(), &st) != 0) {
      return Status::InvalidInput("file {} does not exist; check the path in the source address or source-table",
                                  pattern);
    }
    if (S_ISDIR(st.st_mode)) {
      return Status::InvalidInput("{} is a directory; give a file or a glob such as {}/*.csv", pattern, pattern);
    }
    return std::vector<std::string>{pattern};
  }
  glob_t g{};
  int rc = glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      struct stat st;
      if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) out.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) return Status::IOError("cannot list files matching {}", pattern);
  if (out.empty()) return Status::InvalidInput("no file matches {}", pattern);
  std::sort(out.begin(), out.end());
  return out;
}

Result<Format> FormatOf(const std::string& path, const std::string& scheme) {
  if (scheme == "csv") return Format::kCsv;
  if (scheme == "jsonl") return Format::kJsonl;
  if (scheme == "parquet" || EndsWith(ToLower(path), ".parquet")) return Format::kParquet;
  std::string base = ToLower(StripCompressionExtension(path));
  if (EndsWith(base, ".csv")) return Format::kCsv;
  if (EndsWith(base, ".jsonl") || EndsWith(base, ".ndjson")) return Format::kJsonl;
  return Status::InvalidInput(
      "cannot tell the format of {} from its extension (.csv, .jsonl, .ndjson, optionally followed by .gz or .zst; "
      ".parquet); use a csv://, jsonl:// or parquet:// address to say it",
      path);
}

/// Column names of a CSV file: its header, or column_1 … column_N.
Result<std::vector<std::string>> CsvColumns(CsvReader& reader, CsvRecord& record, bool* has_first) {
  NILUS_ASSIGN_OR_RAISE(*has_first, reader.Next(&record));
  std::vector<std::string> names;
  if (!*has_first) return names;
  for (size_t i = 0; i < record.fields.size(); ++i) {
    std::string name = reader.dialect().header ? std::string(Trim(record.fields[i])) : "";
    if (name.empty()) name = fmt::format("column_{}", i + 1);
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return Status::InvalidInput("{}:{}: the header names column '{}' twice; column names must be unique",
                                  reader.path(), record.line, name);
    }
    names.push_back(std::move(name));
  }
  if (reader.dialect().header) *has_first = false;  // the header is not a data record
  return names;
}

/// Where an earlier run stopped inside a file it read in part (yield-limit): a text file's
/// position, or the rows of a Parquet file.
struct PartialFile {
  std::string path;
  StreamPosition position;
  int64_t rows = 0;
};

std::optional<PartialFile> PartialOf(const json& state) {
  auto it = state.find("partial");
  if (it == state.end() || !it->is_object()) return std::nullopt;
  return PartialFile{it->value("file", ""),
                     {it->value("offset", int64_t{0}), it->value("line", int64_t{0})},
                     it->value("rows", int64_t{0})};
}

/// A Parquet file opened for the selected columns (`columns`, `sql-exclude-columns`).
Result<std::unique_ptr<parquet::ParquetReader>> OpenParquet(Storage& storage, const std::string& location,
                                                            const SourceOptions& options) {
  NILUS_ASSIGN_OR_RAISE(int64_t size, storage.Size(location));
  auto read = [&storage, location](int64_t offset, int64_t length) {
    return storage.ReadRange(location, offset, length);
  };
  NILUS_ASSIGN_OR_RAISE(auto reader, parquet::ParquetReader::Open(location, size, read));
  std::vector<std::string> names;
  std::vector<int> selected;
  for (const auto& column : reader->columns()) {
    names.push_back(column.name);
    if (options.Selects(column.name)) selected.push_back(static_cast<int>(names.size()) - 1);
  }
  NILUS_RETURN_NOT_OK(options.CheckSelection(names, location));
  NILUS_RETURN_NOT_OK(reader->Select(std::move(selected)));
  return reader;
}

/// A CSV file opened for its records: the header read (or, without one, the first record held
/// in `record`), and moved to where an earlier run stopped when it read the file in part.
struct CsvFile {
  std::unique_ptr<CsvReader> reader;
  std::vector<std::string> names;
  bool pending_first = false;  // `record` holds a data record not yet taken
};

Result<CsvFile> OpenCsv(const SourceFile& file, const CsvDialect& dialect, const std::optional<PartialFile>& partial,
                        CsvRecord& record) {
  CsvFile f;
  NILUS_ASSIGN_OR_RAISE(auto in, OpenInputStream(file.local));
  f.reader = std::make_unique<CsvReader>(std::move(in), file.path, dialect);
  NILUS_ASSIGN_OR_RAISE(f.names, CsvColumns(*f.reader, record, &f.pending_first));
  if (partial && partial->path == file.path) {
    NILUS_RETURN_NOT_OK(f.reader->SeekTo(partial->position));
    f.pending_first = false;  // loaded by the run that stopped here
  }
  return f;
}

/// The columns of the CSV files in one schema: names in order of first appearance, types
/// inferred over every value (type-hints win), restricted to `columns` and `sql-exclude-columns`.
class SchemaInference {
 public:
  explicit SchemaInference(const SourceOptions& options) : options_(options) {}

  int Column(const std::string& name) {
    auto [it, added] = index_.emplace(name, static_cast<int>(names_.size()));
    if (added) {
      names_.push_back(name);
      text_.emplace_back(options_.date_detection);
      needed_.push_back(options_.Selects(name) && options_.HintFor(name) == nullptr);
    }
    return it->second;
  }
  bool NeedsValues(int column) const { return needed_[column]; }
  void ObserveText(int column, std::string_view v) { text_[column].Observe(v); }

  /// An inference over the same columns that has seen no value yet, to observe part of a file.
  SchemaInference Fork() const {
    SchemaInference fork(options_);
    for (const auto& name : names_) fork.Column(name);
    return fork;
  }
  /// Takes in what `part` (a fork) observed.
  void Merge(const SchemaInference& part) {
    for (size_t i = 0; i < text_.size(); ++i) text_[i].Merge(part.text_[i]);
  }

  Result<Schema> Finish() const {
    NILUS_RETURN_NOT_OK(options_.CheckSelection(names_, "the files"));
    Schema schema;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (!options_.Selects(names_[i])) continue;
      const LogicalType* hint = options_.HintFor(names_[i]);
      schema.AddField({names_[i], hint ? *hint : text_[i].Result(), true});
    }
    return schema;
  }

 private:
  const SourceOptions& options_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> index_;
  std::vector<TextTypeInference> text_;
  std::vector<bool> needed_;  // selected and not hinted: its values decide its type
};

/// A value that does not convert to its column's (hinted) type; the value is left out when the
/// column is masked.
Status ConversionError(const std::string& path, int64_t line, const Field& field, std::string_view value, bool masked) {
  return Status::InvalidInput(
      "{}:{}: column '{}': {} is not a {} value; fix the value or change its type with "
      "type-hints (e.g. {}: text)",
      path, line, field.name, masked ? "the value (masked, not shown)" : "'" + Excerpt(value) + "'",
      field.type.ToString(), field.name);
}

Status WidthError(const CsvReader& reader, const CsvRecord& record, size_t width) {
  return Status::InvalidInput("{}:{}: {} fields, but the {} has {}", reader.path(), record.line, record.fields.size(),
                              reader.dialect().header ? "header" : "first row", width);
}

/// Reads the selected files in order. CSV rows are converted to the inferred schema; JSONL lines
/// go out as documents, which Normalize types and flattens. A batch holds rows of one format.
/// `state()` names the files read whole and, for a file read in part, where the last batch ended.
class FilesReader final : public BatchReader {
 public:
  FilesReader(Storage& storage, CsvDialect dialect, std::vector<SourceFile> files, Schema schema,
              const SourceOptions& options, json done, std::optional<PartialFile> partial, std::stop_token stop)
      : storage_(storage),
        dialect_(std::move(dialect)),
        files_(std::move(files)),
        csv_builder_(std::move(schema)),
        documents_(DocumentSchema(true)),
        options_(options),
        done_(std::move(done)),
        partial_(std::move(partial)),
        stop_(std::move(stop)) {}

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    while (true) {
      if (parquet_) {
        // A Parquet file's batches come as the file holds them, typed.
        if (stop_.stop_requested()) return Status::Cancelled("interrupted");
        NILUS_ASSIGN_OR_RAISE(auto batch, parquet_->Next(options_.page_size, kMaxBatchBytes));
        if (batch) {
          parquet_rows_ += batch->num_rows();
          return batch;
        }
        done_.push_back(files_[next_file_].path);
        parquet_.reset();
        ++next_file_;
        continue;
      }
      BatchBuilder& builder = current();
      int64_t max_bytes = format_ == Format::kCsv ? kMaxBatchBytes : kMaxDocumentBatchBytes;
      if (builder.num_rows() >= options_.page_size || builder.byte_size() >= max_bytes) break;
      if (!csv_ && !jsonl_) {
        if (next_file_ >= files_.size()) break;
        if (builder.num_rows() > 0 && files_[next_file_].format != format_) break;
        if (stop_.stop_requested()) return Status::Cancelled("interrupted");
        NILUS_RETURN_NOT_OK(OpenFile(files_[next_file_]));
        continue;
      }
      NILUS_ASSIGN_OR_RAISE(bool more, csv_ ? ReadCsvRow() : ReadJsonRow());
      if (!more) {
        done_.push_back(files_[next_file_].path);
        csv_.reset();
        jsonl_.reset();
        ++next_file_;
      } else if ((++rows_ & 1023) == 0 && stop_.stop_requested()) {
        return Status::Cancelled("interrupted");
      }
    }
    BatchBuilder& builder = current();
    if (builder.num_rows() == 0) return std::shared_ptr<const RecordBatch>();
    return builder.Finish();
  }

  json state() const override {
    json out = {{"files", done_}};
    if (parquet_) {
      out["partial"] = {{"file", files_[next_file_].path}, {"rows", parquet_rows_}};
    } else if (csv_ || jsonl_) {
      StreamPosition at = csv_ ? csv_->position() : jsonl_->position();
      out["partial"] = {{"file", files_[next_file_].path}, {"offset", at.offset}, {"line", at.line}};
    }
    return out;
  }

 private:
  BatchBuilder& current() { return format_ == Format::kCsv ? csv_builder_ : documents_; }

  Status OpenFile(const SourceFile& file) {
    spdlog::debug("reading {}", file.path);
    format_ = file.format;
    mapping_.clear();
    if (file.format == Format::kParquet) {
      NILUS_ASSIGN_OR_RAISE(parquet_, OpenParquet(storage_, file.path, options_));
      parquet_rows_ = 0;
      if (partial_ && partial_->path == file.path) {
        NILUS_RETURN_NOT_OK(parquet_->Skip(partial_->rows));
        parquet_rows_ = partial_->rows;
      }
    } else if (file.format == Format::kCsv) {
      NILUS_ASSIGN_OR_RAISE(CsvFile opened, OpenCsv(file, dialect_, partial_, record_));
      csv_ = std::move(opened.reader);
      pending_first_ = opened.pending_first;
      for (const auto& n : opened.names) mapping_.push_back(csv_builder_.schema().FieldIndex(n));
      width_ = opened.names.size();
    } else {
      NILUS_ASSIGN_OR_RAISE(auto in, OpenInputStream(file.local));
      jsonl_ = std::make_unique<LineReader>(std::move(in));
      if (partial_ && partial_->path == file.path) NILUS_RETURN_NOT_OK(jsonl_->SeekTo(partial_->position));
    }
    return Status::OK();
  }

  Result<bool> ReadCsvRow() {
    if (!pending_first_) {
      NILUS_ASSIGN_OR_RAISE(bool more, csv_->Next(&record_));
      if (!more) return false;
    }
    pending_first_ = false;
    if (record_.fields.size() != width_) return WidthError(*csv_, record_, width_);
    filled_.assign(csv_builder_.schema().num_fields(), false);
    for (size_t i = 0; i < width_; ++i) {
      int c = mapping_[i];
      if (c < 0) continue;
      Column& column = csv_builder_.column(static_cast<size_t>(c));
      filled_[c] = true;
      if (record_.IsNull(i, dialect_)) {
        column.AppendNull();
      } else if (!AppendTextValue(column, record_.fields[i])) {
        const Field& field = csv_builder_.schema().field(c);
        return ConversionError(csv_->path(), record_.line, field, record_.fields[i], options_.Masks(field.name));
      }
    }
    for (size_t c = 0; c < filled_.size(); ++c) {
      if (!filled_[c]) csv_builder_.column(c).AppendNull();
    }
    return true;
  }

  Result<bool> ReadJsonRow() {
    std::string_view line;
    while (true) {
      NILUS_ASSIGN_OR_RAISE(bool more, jsonl_->Next(&line));
      if (!more) return false;
      if (!Trim(line).empty()) break;
    }
    documents_.column(0).AppendBytes(line);
    char number[24];
    auto end = std::to_chars(number, number + sizeof(number), jsonl_->line_number()).ptr;
    origin_.assign(files_[next_file_].path).append(1, ':').append(number, end);
    documents_.column(1).AppendBytes(origin_);
    return true;
  }

  Storage& storage_;
  CsvDialect dialect_;
  std::vector<SourceFile> files_;
  BatchBuilder csv_builder_;
  BatchBuilder documents_;
  Format format_ = Format::kCsv;
  SourceOptions options_;
  json done_;  // the files read whole, this run and before
  std::optional<PartialFile> partial_;
  std::stop_token stop_;
  size_t next_file_ = 0;
  int64_t rows_ = 0;
  std::unique_ptr<CsvReader> csv_;
  std::unique_ptr<LineReader> jsonl_;
  std::unique_ptr<parquet::ParquetReader> parquet_;
  int64_t parquet_rows_ = 0;  // the rows of the open Parquet file returned (or skipped)
  CsvRecord record_;
  bool pending_first_ = false;
  size_t width_ = 0;
  std::vector<int> mapping_;  // file column -> schema column (-1: not selected)
  std::vector<bool> filled_;
  std::string origin_;
};

class FilesSource final : public Source {
 public:
  FilesSource(Uri uri, CsvDialect dialect, std::unique_ptr<Storage> storage, std::stop_token stop)
      : uri_(std::move(uri)), dialect_(std::move(dialect)), storage_(std::move(storage)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    const json& state = resume.state;
    NILUS_ASSIGN_OR_RAISE(std::string pattern, Pattern(options));
    NILUS_ASSIGN_OR_RAISE(auto paths, Expand(pattern));

    std::set<std::string> done;
    if (state.contains("files")) {
      for (const auto& f : state["files"]) done.insert(f.get<std::string>());
    }
    std::optional<PartialFile> partial = PartialOf(state);
    std::vector<SourceFile> files;
    for (const auto& p : paths) {
      if (done.count(p)) continue;
      NILUS_ASSIGN_OR_RAISE(Format format, FormatOf(p, uri_.scheme()));
      NILUS_ASSIGN_OR_RAISE(std::string local, LocalCopy(p, format));
      files.push_back({p, format, std::move(local)});
    }
    if (files.empty()) spdlog::info("{}: every matching file was loaded by an earlier run; nothing new", pattern);
    if (partial && partial->rows > 0) {
      spdlog::info("{}: continuing after row {}, where the last run stopped", partial->path, partial->rows);
    } else if (partial) {
      spdlog::info("{}: continuing at line {}, where the last run stopped", partial->path, partial->position.line + 1);
    }

    NILUS_ASSIGN_OR_RAISE(Schema schema, InferSchema(files, options, partial));
    json done_list = json::array();
    for (const auto& f : done) done_list.push_back(f);
    return std::unique_ptr<BatchReader>(new FilesReader(*storage_, dialect_, std::move(files), std::move(schema),
                                                        options, std::move(done_list), std::move(partial), stop_));
  }

  /// The columns of the CSV files' headers and the Parquet files' schemas; unknown (nullopt)
  /// when JSONL files match.
  Result<std::optional<std::vector<std::string>>> ColumnNames(const SourceOptions& options) override {
    NILUS_ASSIGN_OR_RAISE(std::string pattern, Pattern(options));
    NILUS_ASSIGN_OR_RAISE(auto paths, Expand(pattern));
    std::vector<std::string> names;
    for (const auto& path : paths) {
      NILUS_ASSIGN_OR_RAISE(Format format, FormatOf(path, uri_.scheme()));
      std::vector<std::string> file_names;
      if (format == Format::kParquet) {
        SourceOptions all;  // every column: the selection is checked against these names
        NILUS_ASSIGN_OR_RAISE(auto reader, OpenParquet(*storage_, path, all));
        for (const auto& column : reader->columns()) file_names.push_back(column.name);
      } else if (format == Format::kCsv) {
        CsvRecord record;
        NILUS_ASSIGN_OR_RAISE(std::string local, LocalCopy(path, format));
        NILUS_ASSIGN_OR_RAISE(CsvFile file, OpenCsv({path, format, local}, dialect_, std::nullopt, record));
        file_names = std::move(file.names);
      } else {
        return std::optional<std::vector<std::string>>();
      }
      for (auto& n : file_names) {
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
      }
    }
    return std::optional<std::vector<std::string>>(std::move(names));
  }

 private:
  bool in_bucket() const { return uri_.scheme() == "s3"; }

  /// The path or glob: file:///abs/path and file://relative/path hold it after "://"; else
  /// source-table does. In a bucket: s3://bucket/key, or the key in source-table.
  Result<std::string> Pattern(const SourceOptions& options) const {
    if (in_bucket()) {
      std::string key = uri_.path().size() > 1 ? uri_.path().substr(1) : options.table;
      if (key.empty()) {
        return Status::InvalidInput(
            "{}: no object given; put its key (or a glob) in the address (s3://bucket/data/*.parquet) or in "
            "source-table",
            uri_.Masked());
      }
      return "s3://" + uri_.host() + "/" + key;
    }
    std::string pattern = uri_.host() + uri_.path();
    if (pattern.empty()) pattern = options.table;
    if (pattern.empty()) {
      return Status::InvalidInput(
          "{}: no file given; put the path in the address (file:///data/orders.csv) or in "
          "source-table",
          uri_.Masked());
    }
    return pattern;
  }

  /// The files (or objects) the pattern names.
  Result<std::vector<std::string>> Expand(const std::string& pattern) {
    if (!in_bucket()) return ExpandPattern(pattern);
    return ExpandObjectPattern(*storage_, pattern);
  }

  /// Where the bytes of `location` are read from: the file itself; for a CSV or JSONL object of
  /// a bucket, a copy in this run's spool folder (fetched once per run in 8 MiB ranges, removed
  /// when the run ends; a killed run's by the next run that spools).
  Result<std::string> LocalCopy(const std::string& location, Format format) {
    if (!in_bucket() || format == Format::kParquet) return location;
    if (auto it = copies_.find(location); it != copies_.end()) return it->second;
    // Named by number: objects of different folders may share a name.
    const std::string name = location.substr(location.rfind('/') + 1);
    NILUS_ASSIGN_OR_RAISE(std::string local,
                          storage_->StagingPath(fmt::format("s3://{}/{}-{}", uri_.host(), copies_.size(), name)));
    NILUS_ASSIGN_OR_RAISE(auto out, OutputFile::Open(local));
    constexpr int64_t kRange = 8 << 20;
    for (int64_t at = 0;; at += kRange) {
      if (stop_.stop_requested()) return Status::Cancelled("interrupted");
      NILUS_ASSIGN_OR_RAISE(std::string bytes, storage_->ReadRange(location, at, kRange));
      NILUS_RETURN_NOT_OK(out->Write(bytes));
      if (static_cast<int64_t>(bytes.size()) < kRange) break;
    }
    NILUS_RETURN_NOT_OK(out->Close());
    spdlog::debug("{}: copied to {}", location, local);
    copies_[location] = local;
    return local;
  }

  /// First pass over the CSV files: reads each once (from where an earlier run stopped, for a
  /// file read in part) to learn its columns and their types, so that the types hold for all
  /// rows whatever the batch size. Memory: one state per column. (JSONL documents are typed by
  /// Normalize.)
  Result<Schema> InferSchema(const std::vector<SourceFile>& files, const SourceOptions& options,
                             const std::optional<PartialFile>& partial) {
    SchemaInference inference(options);
    bool any_csv = false;
    for (const auto& file : files) {
      if (file.format != Format::kCsv) continue;
      any_csv = true;
      CsvRecord record;
      NILUS_ASSIGN_OR_RAISE(CsvFile csv, OpenCsv(file, dialect_, partial, record));
      std::vector<int> columns;
      bool any_needed = false;
      for (const auto& n : csv.names) {
        columns.push_back(inference.Column(n));
        any_needed = any_needed || inference.NeedsValues(columns.back());
      }
      if (!any_needed) continue;  // every column is hinted or left out; the load pass checks the values
      NILUS_RETURN_NOT_OK(ObserveFile(file, csv, record, columns, inference));
    }
    if (!any_csv) return Schema();
    return inference.Finish();
  }

  /// Observes the rest of a CSV file. A large plain file is observed on two threads: the second
  /// half from the first line break after its middle, on the guess that a record starts there,
  /// which the first half's reader checks when it gets there (a quoted field may hold a line
  /// break). A wrong guess only costs the second thread's work: the first reader goes on alone,
  /// and reports any error with its line.
  Status ObserveFile(const SourceFile& file, CsvFile& csv, CsvRecord& record, const std::vector<int>& columns,
                     SchemaInference& inference) {
    const std::string& path = file.path;
    const int64_t from = csv.reader->position().offset;
    const int64_t middle = StripCompressionExtension(path) == path ? LineStartAfter(file.local, from) : -1;
    if (middle < 0) return Observe(*csv.reader, record, csv.pending_first, columns, inference, INT64_MAX).status();
    spdlog::debug("{}: typing the two halves on two threads, the second from byte {}", path, middle);
    SchemaInference second = inference.Fork();
    Status second_status;
    std::thread worker([&] {
      second_status = [&]() -> Status {
        NILUS_ASSIGN_OR_RAISE(auto in, OpenInputStream(file.local));
        CsvReader reader(std::move(in), path, dialect_);
        NILUS_RETURN_NOT_OK(reader.SeekTo({middle, 0}));
        CsvRecord own;
        return Observe(reader, own, false, columns, second, INT64_MAX).status();
      }();
    });
    auto reached = Observe(*csv.reader, record, csv.pending_first, columns, inference, middle);
    worker.join();
    NILUS_RETURN_NOT_OK(reached.status());
    if (*reached == middle && second_status.ok()) {
      inference.Merge(second);
      return Status::OK();
    }
    spdlog::debug("{}: {}; typing the rest on one thread", path,
                  *reached == middle ? "the second half has an error" : "no record starts at the middle");
    return Observe(*csv.reader, record, false, columns, inference, INT64_MAX).status();
  }

  /// The offset of the first line start past the middle of the file's bytes after `from`, or -1
  /// when the file is too small to be worth a second thread or has no line break there.
  static int64_t LineStartAfter(const std::string& path, int64_t from) {
    constexpr int64_t kMinBytes = 16 << 20;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || st.st_size - from < kMinBytes) return -1;
    std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    int64_t middle = from + (st.st_size - from) / 2;
    if (!f || fseeko(f.get(), middle, SEEK_SET) != 0) return -1;
    char buf[1 << 16];
    size_t got = std::fread(buf, 1, sizeof(buf), f.get());
    const void* nl = std::memchr(buf, '\n', got);
    return nl ? middle + (static_cast<const char*>(nl) - buf) + 1 : -1;
  }

  /// Observes records until the reader is at or past `stop_at` or at the end; returns where it is.
  Result<int64_t> Observe(CsvReader& reader, CsvRecord& record, bool pending_first, const std::vector<int>& columns,
                          SchemaInference& inference, int64_t stop_at) {
    for (int64_t n = 0; reader.position().offset < stop_at; ++n) {
      if (!pending_first) {
        NILUS_ASSIGN_OR_RAISE(bool more, reader.Next(&record));
        if (!more) break;
      }
      pending_first = false;
      if ((n & 1023) == 0 && stop_.stop_requested()) return Status::Cancelled("interrupted");
      if (record.fields.size() != columns.size()) return WidthError(reader, record, columns.size());
      for (size_t i = 0; i < columns.size(); ++i) {
        if (inference.NeedsValues(columns[i]) && !record.IsNull(i, dialect_)) {
          inference.ObserveText(columns[i], record.fields[i]);
        }
      }
    }
    return reader.position().offset;
  }

  Uri uri_;
  CsvDialect dialect_;
  std::unique_ptr<Storage> storage_;  // where Parquet files are read from: local disk or a bucket
  std::stop_token stop_;
  std::map<std::string, std::string> copies_;  // object -> its local copy
};

}  // namespace

Result<std::unique_ptr<Source>> OpenFilesSource(const Uri& uri, std::stop_token stop) {
  NILUS_ASSIGN_OR_RAISE(CsvDialect dialect, DialectFromUri(uri));
  const bool bucket = uri.scheme() == "s3";
  if (bucket && uri.host().empty()) {
    return Status::InvalidInput("{}: an S3 address names its bucket: s3://bucket/key", uri.Masked());
  }
  NILUS_ASSIGN_OR_RAISE(auto storage, OpenStorage(bucket ? "s3://" + uri.host() : "", ""));
  return std::unique_ptr<Source>(new FilesSource(uri, std::move(dialect), std::move(storage), std::move(stop)));
}

Status RegisterFiles(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(
      registry.AddSource("file", OpenFilesSource, {.options = {"max-table-nesting", "date-detection"}}));
  NILUS_RETURN_NOT_OK(registry.AddSource("csv", OpenFilesSource, {.options = {"date-detection"}}));
  NILUS_RETURN_NOT_OK(
      registry.AddSource("jsonl", OpenFilesSource, {.options = {"max-table-nesting", "date-detection"}}));
  return registry.AddSource("parquet", OpenFilesSource);
}

}  // namespace nilus
