#include "nilus/formats/csv_reader.h"

#include <cstring>

#include "nilus/core/strings.h"

namespace nilus {

namespace {
constexpr size_t kChunk = 1 << 20;
}

Result<bool> CsvReader::Fill() {
  if (eof_) return false;
  buf_.erase(0, pos_);
  base_ += static_cast<int64_t>(pos_);
  pos_ = 0;
  // Read into a buffer of its own: growing buf_ to read in place would zero a whole chunk for
  // every read, however few bytes the stream gives.
  if (!chunk_) chunk_.reset(new char[kChunk]);  // not zeroed: read() fills what is used
  NILUS_ASSIGN_OR_RAISE(size_t got, in_->Read(chunk_.get(), kChunk));
  buf_.append(chunk_.get(), got);
  if (got == 0) eof_ = true;
  return got > 0;
}

Status CsvReader::SeekTo(const StreamPosition& position) {
  int64_t end = base_ + static_cast<int64_t>(buf_.size());
  if (position.offset < base_ + static_cast<int64_t>(pos_)) return Status::Internal("cannot seek back in a CSV reader");
  if (position.offset <= end) {
    pos_ = static_cast<size_t>(position.offset - base_);
  } else {
    NILUS_RETURN_NOT_OK(in_->Skip(static_cast<uint64_t>(position.offset - end)).WithContext(path_));
    buf_.clear();
    pos_ = 0;
    base_ = position.offset;
  }
  line_ = position.line;
  return Status::OK();
}

Result<bool> CsvReader::Next(CsvRecord* record) {
  while (true) {
    field_bytes_.clear();
    ends_.clear();
    record->quoted.clear();
    record->line = line_;
    Scan scan;
    NILUS_ASSIGN_OR_RAISE(bool got, ScanRecord(record, scan));
    if (!got) return false;
    if (!scan.any && field_bytes_.empty() && ends_.empty()) continue;  // an empty line
    ends_.push_back(field_bytes_.size());
    record->quoted.push_back(scan.field_quoted);
    if (size_t bad = FindInvalidUtf8(field_bytes_); bad != std::string::npos) {
      return Status::InvalidInput(
          "{}:{}: invalid UTF-8 (byte 0x{:02x}); the file must be UTF-8 (convert it with iconv)", path_, record->line,
          static_cast<unsigned char>(field_bytes_[bad]));
    }
    record->fields.clear();
    size_t begin = 0;
    for (size_t end : ends_) {
      record->fields.emplace_back(field_bytes_.data() + begin, end - begin);
      begin = end;
    }
    return true;
  }
}

Result<bool> CsvReader::ScanRecord(CsvRecord* record, Scan& scan) {
  const char delim = dialect_.delimiter;
  const char quote = dialect_.quote;
  // `pos_` always points at the next unread byte of `buf_`.
  while (true) {
    if (pos_ >= buf_.size()) {
      NILUS_ASSIGN_OR_RAISE(bool more, Fill());
      if (!more) {
        if (scan.in_quotes) {
          return Status::InvalidInput("{}:{}: unterminated quoted field (the quote opened on line {} is never closed)",
                                      path_, line_, scan.quote_line);
        }
        return scan.any;  // the last record, without a final newline, or nothing
      }
    }
    if (scan.in_quotes) {
      NILUS_RETURN_NOT_OK(ScanQuoted(scan));
      continue;
    }
    char c = buf_[pos_];
    if (c == delim) {
      ends_.push_back(field_bytes_.size());
      record->quoted.push_back(scan.field_quoted);
      scan.field_quoted = scan.after_quote = false;
      scan.any = true;
      ++pos_;
      continue;
    }
    if (c == '\n' || c == '\r') {
      NILUS_RETURN_NOT_OK(EndLine(c));
      return true;
    }
    if (scan.after_quote) {
      return Status::InvalidInput(
          "{}:{}: unexpected character '{}' after a closing quote; a field is either fully quoted or not at all", path_,
          line_, Excerpt(std::string_view(&c, 1)));
    }
    scan.any = true;
    if (c == quote && field_bytes_.size() == (ends_.empty() ? 0 : ends_.back())) {
      scan.in_quotes = scan.field_quoted = true;
      scan.quote_line = line_;
      ++pos_;
      continue;
    }
    ScanUnquoted();
  }
}

Status CsvReader::ScanQuoted(Scan& scan) {
  const char quote = dialect_.quote;
  // Copy a run of ordinary bytes at once.
  const char* start = buf_.data() + pos_;
  const char* end = buf_.data() + buf_.size();
  const char* q = static_cast<const char*>(std::memchr(start, quote, static_cast<size_t>(end - start)));
  const char* stop = q ? q : end;
  for (const char* p = start; p < stop; ++p) {
    if (*p == '\n') ++line_;
  }
  field_bytes_.append(start, static_cast<size_t>(stop - start));
  pos_ += static_cast<size_t>(stop - start);
  if (!q) return Status::OK();
  // At a quote: the next byte tells "" (a quote inside the field) from the closing quote.
  if (pos_ + 1 >= buf_.size()) {
    NILUS_ASSIGN_OR_RAISE(bool more, Fill());
    if (!more) {
      ++pos_;
      scan.in_quotes = false;
      scan.after_quote = true;
      return Status::OK();
    }
  }
  if (buf_[pos_ + 1] == quote) {
    field_bytes_ += quote;
    pos_ += 2;
  } else {
    ++pos_;
    scan.in_quotes = false;
    scan.after_quote = true;
  }
  return Status::OK();
}

void CsvReader::ScanUnquoted() {
  const char delim = dialect_.delimiter;
  const char quote = dialect_.quote;
  // Copy a run of unquoted bytes up to the next delimiter, line end or quote.
  size_t p = pos_;
  while (p < buf_.size()) {
    char b = buf_[p];
    if (b == delim || b == '\n' || b == '\r' || b == quote) break;
    ++p;
  }
  if (p == pos_) {  // a quote in the middle of an unquoted field is kept as it is
    field_bytes_ += buf_[pos_];
    ++pos_;
  } else {
    field_bytes_.append(buf_, pos_, p - pos_);
    pos_ = p;
  }
}

Status CsvReader::EndLine(char c) {
  ++pos_;
  if (c == '\r') {
    if (pos_ >= buf_.size()) NILUS_RETURN_NOT_OK(Fill().status());
    if (pos_ < buf_.size() && buf_[pos_] == '\n') ++pos_;
  }
  ++line_;
  return Status::OK();
}

}  // namespace nilus
