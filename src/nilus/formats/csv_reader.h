#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/formats/input_stream.h"

namespace nilus {

struct CsvDialect {
  char delimiter = ',';
  char quote = '"';
  bool header = true;
  /// An unquoted field equal to this is NULL (by default the empty field). A quoted field
  /// never is: `""` is the empty string.
  std::string null_string;
};

/// One CSV record: its fields as views valid until the next `CsvReader::Next`.
struct CsvRecord {
  std::vector<std::string_view> fields;
  std::vector<bool> quoted;
  int64_t line = 0;  ///< line on which the record starts, from 1
  bool IsNull(size_t i, const CsvDialect& d) const { return !quoted[i] && fields[i] == d.null_string; }
};

/// An RFC 4180 reader: quoted fields may hold delimiters, doubled quotes and line breaks.
/// Validates UTF-8. Errors name the file, the line and the reason.
class CsvReader {
 public:
  CsvReader(std::unique_ptr<InputStream> in, std::string path, CsvDialect dialect)
      : in_(std::move(in)), path_(std::move(path)), dialect_(std::move(dialect)) {}

  /// Reads the next non-empty record; false at the end of the file.
  Result<bool> Next(CsvRecord* record);
  /// Where the record after the last one returned starts.
  StreamPosition position() const { return {base_ + static_cast<int64_t>(pos_), line_}; }
  /// Continues at `position` (of an earlier reader of the same file), which is ahead of here.
  Status SeekTo(const StreamPosition& position);
  const std::string& path() const { return path_; }
  const CsvDialect& dialect() const { return dialect_; }

 private:
  /// What the scan of one record knows so far.
  struct Scan {
    bool in_quotes = false;     // inside a quoted field
    bool field_quoted = false;  // the current field was quoted
    bool after_quote = false;   // just closed a quoted field: only a delimiter or line end may follow
    bool any = false;           // the record has a field (an empty line has none)
    int64_t quote_line = 0;     // where the open quote is, for messages
  };

  Result<bool> Fill();
  /// Scans the bytes of one record into field_bytes_ and ends_; false at the end of the file.
  Result<bool> ScanRecord(CsvRecord* record, Scan& scan);
  /// Inside a quoted field: up to the next quote, and what it means.
  Status ScanQuoted(Scan& scan);
  /// A run of bytes of an unquoted field.
  void ScanUnquoted();
  /// Past a line end ('\n', '\r' or "\r\n").
  Status EndLine(char c);

  std::unique_ptr<InputStream> in_;
  std::string path_;
  CsvDialect dialect_;
  std::string buf_;
  std::unique_ptr<char[]> chunk_;  // what one read fills
  size_t pos_ = 0;
  int64_t base_ = 0;  // the stream offset of buf_[0]
  bool eof_ = false;
  int64_t line_ = 1;
  std::string field_bytes_;  // unescaped field contents of the current record
  std::vector<size_t> ends_;
};

}  // namespace nilus
