#include "nilus/connectors/files/files_source.h"

#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "nilus/core/cancellation.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"
#include "nilus/formats/csv_reader.h"
#include "nilus/normalize/inference.h"

namespace nilus {

namespace {

using nlohmann::json;
// JSONL documents keep their key order, so columns appear in the order the data gives them.
using Document = nlohmann::ordered_json;

enum class Format { kCsv, kJsonl };

/// A batch is cut at `page-size` rows or at this many bytes, whichever comes first.
constexpr int64_t kMaxBatchBytes = 64 << 20;

struct SourceFile {
  std::string path;
  Format format;
};

/// Infers a column type from the JSON values of a JSONL field.
class JsonTypeInference {
 public:
  void Observe(const Document& v) {
    switch (v.type()) {
      case Document::value_t::null:
        return;
      case Document::value_t::boolean:
        seen_ |= kBool;
        return;
      case Document::value_t::number_integer:
        seen_ |= kInt;
        return;
      case Document::value_t::number_unsigned:
        seen_ |= v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? kBigUnsigned : kInt;
        return;
      case Document::value_t::number_float:
        seen_ |= kFloat;
        return;
      case Document::value_t::string:
        seen_ |= kString;
        return;
      default:
        seen_ |= kNested;
        return;
    }
  }
  bool seen() const { return seen_ != 0; }
  LogicalType Result() const {
    if (seen_ & kNested) return LogicalType::Json();
    if (seen_ == kBool) return LogicalType::Bool();
    if (seen_ == 0 || (seen_ & (kString | kBool))) return LogicalType::Text();
    if (seen_ & kFloat) return (seen_ & kBigUnsigned) ? LogicalType::Text() : LogicalType::Double();
    if (seen_ & kBigUnsigned) return LogicalType::Decimal();
    return LogicalType::Bigint();
  }

 private:
  enum : uint32_t { kBool = 1, kInt = 2, kBigUnsigned = 4, kFloat = 8, kString = 16, kNested = 32 };
  uint32_t seen_ = 0;
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
  std::string base = ToLower(StripCompressionExtension(path));
  if (EndsWith(base, ".csv")) return Format::kCsv;
  if (EndsWith(base, ".jsonl") || EndsWith(base, ".ndjson")) return Format::kJsonl;
  return Status::InvalidInput(
      "cannot tell the format of {} from its extension (.csv, .jsonl, .ndjson, optionally followed by .gz or .zst); "
      "use a csv:// or jsonl:// address to say it",
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

/// The columns of all files in one schema: names in order of first appearance, types
/// inferred over every value (type-hints win), restricted to `columns` when given.
class SchemaInference {
 public:
  explicit SchemaInference(const SourceOptions& options) : options_(options) {}

  int Column(const std::string& name) {
    auto [it, added] = index_.emplace(name, static_cast<int>(names_.size()));
    if (added) {
      names_.push_back(name);
      text_.emplace_back();
      json_.emplace_back();
      hinted_.push_back(Hint(name) != nullptr);
    }
    return it->second;
  }
  bool NeedsValues(int column) const { return !hinted_[column]; }
  void ObserveText(int column, std::string_view v) { text_[column].Observe(v); }
  void ObserveJson(int column, const Document& v) { json_[column].Observe(v); }

  Result<Schema> Finish() const {
    Schema schema;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (!options_.columns.empty() &&
          std::find(options_.columns.begin(), options_.columns.end(), names_[i]) == options_.columns.end()) {
        continue;
      }
      const LogicalType* hint = Hint(names_[i]);
      LogicalType type = hint ? *hint : json_[i].seen() ? json_[i].Result() : text_[i].Result();
      schema.AddField({names_[i], type, true});
    }
    for (const auto& wanted : options_.columns) {
      if (schema.FieldIndex(wanted) < 0) {
        return Status::InvalidInput("option columns names '{}', which the files do not have; they have: {}", wanted,
                                    Join(names_, ", "));
      }
    }
    return schema;
  }

 private:
  const LogicalType* Hint(const std::string& name) const {
    for (const auto& [column, type] : options_.type_hints) {
      if (column == name) return &type;
    }
    return nullptr;
  }

  const SourceOptions& options_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> index_;
  std::vector<TextTypeInference> text_;
  std::vector<JsonTypeInference> json_;
  std::vector<bool> hinted_;
};

/// Parses one JSONL line; it must be an object.
Result<Document> ParseJsonObject(std::string_view line, const std::string& path, int64_t line_number) {
  Document doc = Document::parse(line, nullptr, false);
  if (doc.is_discarded()) {
    return Status::InvalidInput("{}:{}: not valid JSON: {}", path, line_number, Excerpt(line, 60));
  }
  if (!doc.is_object()) {
    return Status::InvalidInput("{}:{}: each line must be a JSON object, got {}", path, line_number, doc.type_name());
  }
  return doc;
}

Status ConversionError(const std::string& path, int64_t line, const Field& field, std::string_view value) {
  return Status::InvalidInput(
      "{}:{}: column '{}': '{}' is not a {} value; fix the value or change its type with "
      "type-hints (e.g. {}: text)",
      path, line, field.name, Excerpt(value), field.type.ToString(), field.name);
}

Status AppendJson(Column& column, const Document& v, const std::string& path, int64_t line, const Field& field) {
  if (v.is_null()) {
    column.AppendNull();
    return Status::OK();
  }
  switch (column.type().id) {
    case TypeId::kJson:
      column.AppendBytes(v.dump(-1, ' ', false, Document::error_handler_t::strict));
      return Status::OK();
    case TypeId::kBool:
      if (v.is_boolean()) {
        column.AppendBool(v.get<bool>());
        return Status::OK();
      }
      break;
    case TypeId::kBigint:
      if (v.is_number_integer() && (v.is_number_unsigned() ? v.get<uint64_t>() <= INT64_MAX : true)) {
        column.AppendInt64(v.get<int64_t>());
        return Status::OK();
      }
      break;
    case TypeId::kDouble:
      if (v.is_number()) {
        column.AppendDouble(v.get<double>());
        return Status::OK();
      }
      break;
    default:
      break;
  }
  // Strings convert by their text (a hinted timestamp, a decimal); other values by their JSON.
  std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  if (!AppendTextValue(column, text)) return ConversionError(path, line, field, text);
  return Status::OK();
}

/// Reads the selected files in order and builds batches of the inferred schema.
class FilesReader final : public BatchReader {
 public:
  FilesReader(Uri uri, CsvDialect dialect, std::vector<SourceFile> files, Schema schema, const SourceOptions& options,
              json state)
      : uri_(std::move(uri)),
        dialect_(std::move(dialect)),
        files_(std::move(files)),
        builder_(std::move(schema)),
        page_size_(options.page_size),
        state_(std::move(state)) {}

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    while (builder_.num_rows() < page_size_ && builder_.byte_size() < kMaxBatchBytes) {
      if (StopRequested()) return Status::Cancelled("interrupted");
      if (!csv_ && !jsonl_) {
        if (next_file_ >= files_.size()) break;
        NILUS_RETURN_NOT_OK(OpenFile(files_[next_file_]));
      }
      NILUS_ASSIGN_OR_RAISE(bool more, csv_ ? ReadCsvRow() : ReadJsonRow());
      if (!more) {
        state_["files"].push_back(files_[next_file_].path);
        csv_.reset();
        jsonl_.reset();
        ++next_file_;
      }
    }
    if (builder_.num_rows() == 0) return std::shared_ptr<const RecordBatch>();
    return builder_.Finish();
  }

  json state() const override { return state_; }

 private:
  Status OpenFile(const SourceFile& file) {
    NILUS_ASSIGN_OR_RAISE(auto in, OpenInputStream(file.path));
    spdlog::debug("reading {}", file.path);
    mapping_.clear();
    if (file.format == Format::kCsv) {
      csv_ = std::make_unique<CsvReader>(std::move(in), file.path, dialect_);
      bool has_first;
      NILUS_ASSIGN_OR_RAISE(auto names, CsvColumns(*csv_, record_, &has_first));
      pending_first_ = has_first;
      for (const auto& n : names) mapping_.push_back(builder_.schema().FieldIndex(n));
      width_ = names.size();
    } else {
      jsonl_ = std::make_unique<LineReader>(std::move(in));
    }
    return Status::OK();
  }

  Result<bool> ReadCsvRow() {
    if (!pending_first_) {
      NILUS_ASSIGN_OR_RAISE(bool more, csv_->Next(&record_));
      if (!more) return false;
    }
    pending_first_ = false;
    if (record_.fields.size() != width_) {
      return Status::InvalidInput("{}:{}: {} fields, but the {} has {}", csv_->path(), record_.line,
                                  record_.fields.size(), dialect_.header ? "header" : "first row", width_);
    }
    filled_.assign(builder_.schema().num_fields(), false);
    for (size_t i = 0; i < width_; ++i) {
      int c = mapping_[i];
      if (c < 0) continue;
      Column& column = builder_.column(static_cast<size_t>(c));
      filled_[c] = true;
      if (record_.IsNull(i, dialect_)) {
        column.AppendNull();
      } else if (!AppendTextValue(column, record_.fields[i])) {
        return ConversionError(csv_->path(), record_.line, builder_.schema().field(c), record_.fields[i]);
      }
    }
    FillMissing();
    return true;
  }

  Result<bool> ReadJsonRow() {
    std::string_view line;
    while (true) {
      NILUS_ASSIGN_OR_RAISE(bool more, jsonl_->Next(&line));
      if (!more) return false;
      if (!Trim(line).empty()) break;
    }
    const std::string& path = files_[next_file_].path;
    NILUS_ASSIGN_OR_RAISE(Document doc, ParseJsonObject(line, path, jsonl_->line_number()));
    filled_.assign(builder_.schema().num_fields(), false);
    for (const auto& [key, value] : doc.items()) {
      int c = builder_.schema().FieldIndex(key);
      if (c < 0) continue;
      filled_[c] = true;
      NILUS_RETURN_NOT_OK(AppendJson(builder_.column(static_cast<size_t>(c)), value, path, jsonl_->line_number(),
                                     builder_.schema().field(c)));
    }
    FillMissing();
    return true;
  }

  void FillMissing() {
    for (size_t c = 0; c < filled_.size(); ++c) {
      if (!filled_[c]) builder_.column(c).AppendNull();
    }
  }

  Uri uri_;
  CsvDialect dialect_;
  std::vector<SourceFile> files_;
  BatchBuilder builder_;
  int64_t page_size_;
  json state_;
  size_t next_file_ = 0;
  std::unique_ptr<CsvReader> csv_;
  std::unique_ptr<LineReader> jsonl_;
  CsvRecord record_;
  bool pending_first_ = false;
  size_t width_ = 0;
  std::vector<int> mapping_;  // file column -> schema column (-1: not selected)
  std::vector<bool> filled_;
};

class FilesSource final : public Source {
 public:
  FilesSource(Uri uri, CsvDialect dialect) : uri_(std::move(uri)), dialect_(std::move(dialect)) {}

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    const json& state = resume.state;
    // file:///abs/path and file://relative/path: the path is everything after "://".
    std::string pattern = uri_.host() + uri_.path();
    if (pattern.empty()) pattern = options.table;
    if (pattern.empty()) {
      return Status::InvalidInput(
          "{}: no file given; put the path in the address (file:///data/orders.csv) or in "
          "source-table",
          uri_.Masked());
    }
    NILUS_ASSIGN_OR_RAISE(auto paths, ExpandPattern(pattern));

    std::set<std::string> done;
    if (state.contains("files")) {
      for (const auto& f : state["files"]) done.insert(f.get<std::string>());
    }
    std::vector<SourceFile> files;
    for (const auto& p : paths) {
      if (done.count(p)) continue;
      NILUS_ASSIGN_OR_RAISE(Format format, FormatOf(p, uri_.scheme()));
      files.push_back({p, format});
    }
    if (files.empty()) spdlog::info("{}: every matching file was loaded by an earlier run; nothing new", pattern);

    NILUS_ASSIGN_OR_RAISE(Schema schema, InferSchema(files, options));
    json new_state = json::object();
    new_state["files"] = json::array();
    for (const auto& f : done) new_state["files"].push_back(f);
    return std::unique_ptr<BatchReader>(
        new FilesReader(uri_, dialect_, std::move(files), std::move(schema), options, std::move(new_state)));
  }

 private:
  /// First pass: reads every selected file once to learn its columns and their types, so that
  /// the types hold for all rows whatever the batch size. Memory: one state per column.
  Result<Schema> InferSchema(const std::vector<SourceFile>& files, const SourceOptions& options) {
    SchemaInference inference(options);
    for (const auto& file : files) {
      NILUS_ASSIGN_OR_RAISE(auto in, OpenInputStream(file.path));
      if (file.format == Format::kCsv) {
        CsvReader reader(std::move(in), file.path, dialect_);
        CsvRecord record;
        bool has_first;
        NILUS_ASSIGN_OR_RAISE(auto names, CsvColumns(reader, record, &has_first));
        std::vector<int> columns;
        bool any_needed = false;
        for (const auto& n : names) {
          columns.push_back(inference.Column(n));
          any_needed = any_needed || inference.NeedsValues(columns.back());
        }
        if (!any_needed) continue;  // every column is hinted; the load pass checks the values
        while (true) {
          if (!has_first) {
            NILUS_ASSIGN_OR_RAISE(bool more, reader.Next(&record));
            if (!more) break;
          }
          has_first = false;
          if (StopRequested()) return Status::Cancelled("interrupted");
          if (record.fields.size() != names.size()) {
            return Status::InvalidInput("{}:{}: {} fields, but the {} has {}", file.path, record.line,
                                        record.fields.size(), dialect_.header ? "header" : "first row", names.size());
          }
          for (size_t i = 0; i < names.size(); ++i) {
            if (inference.NeedsValues(columns[i]) && !record.IsNull(i, dialect_)) {
              inference.ObserveText(columns[i], record.fields[i]);
            }
          }
        }
      } else {
        LineReader lines(std::move(in));
        std::string_view line;
        while (true) {
          NILUS_ASSIGN_OR_RAISE(bool more, lines.Next(&line));
          if (!more) break;
          if (Trim(line).empty()) continue;
          if (StopRequested()) return Status::Cancelled("interrupted");
          NILUS_ASSIGN_OR_RAISE(Document doc, ParseJsonObject(line, file.path, lines.line_number()));
          for (const auto& [key, value] : doc.items()) {
            int c = inference.Column(key);
            if (inference.NeedsValues(c)) inference.ObserveJson(c, value);
          }
        }
      }
    }
    return inference.Finish();
  }

  Uri uri_;
  CsvDialect dialect_;
};

}  // namespace

Status RegisterFiles(ConnectorRegistry& registry) {
  auto factory = [](const Uri& uri) -> Result<std::unique_ptr<Source>> {
    NILUS_ASSIGN_OR_RAISE(CsvDialect dialect, DialectFromUri(uri));
    return std::unique_ptr<Source>(new FilesSource(uri, std::move(dialect)));
  };
  for (const char* scheme : {"file", "csv", "jsonl"}) {
    NILUS_RETURN_NOT_OK(registry.AddSource(scheme, factory));
  }
  return Status::OK();
}

}  // namespace nilus
