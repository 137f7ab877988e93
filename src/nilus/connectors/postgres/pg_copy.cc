#include "nilus/connectors/postgres/pg_copy.h"

#include <cstring>

namespace nilus {

namespace {

constexpr char kSignature[] = "PGCOPY\n\377\r\n";
constexpr int64_t kSignatureLength = 11;
constexpr int64_t kHeaderLength = kSignatureLength + 4 + 4;  // signature, flags, extension length

}  // namespace

Status PgBinaryCopyDecoder::DecodeHeader(const char*& p, const char* end) {
  if (end - p < kHeaderLength || std::memcmp(p, kSignature, kSignatureLength) != 0) {
    return Status::IOError("the binary COPY stream does not start with the PGCOPY signature");
  }
  uint32_t extension = Be32(p + kSignatureLength + 4);
  if (extension > static_cast<uint64_t>(end - p - kHeaderLength)) {
    return Status::IOError("the binary COPY header announces a {}-byte extension that the stream does not hold",
                           extension);
  }
  p += kHeaderLength + extension;
  header_seen_ = true;
  return Status::OK();
}

Status PgBinaryCopyDecoder::Decode(const char* data, int64_t len, BatchBuilder& out) {
  const char* p = data;
  const char* end = data + len;
  if (finished_) return Status::IOError("binary COPY data after its trailer");
  if (!header_seen_) {
    NILUS_RETURN_NOT_OK(DecodeHeader(p, end));
    if (p == end) return Status::OK();
  }
  if (end - p < 2) return Status::IOError("truncated binary COPY row: no field count");
  int16_t fields = static_cast<int16_t>(Be16(p));
  p += 2;
  if (fields == -1) {
    finished_ = true;
    return Status::OK();
  }
  if (fields != static_cast<int64_t>(columns_.size())) {
    return Status::IOError("binary COPY row has {} fields, the query {} columns", fields, columns_.size());
  }
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (end - p < 4) return Status::IOError("truncated binary COPY row: field {} has no length", c + 1);
    int32_t flen = static_cast<int32_t>(Be32(p));
    p += 4;
    if (flen == -1) {
      out.column(c).AppendNull();
      continue;
    }
    if (flen < 0 || flen > end - p) {
      return Status::IOError("truncated binary COPY row: field {} announces {} bytes, {} remain", c + 1, flen, end - p);
    }
    NILUS_RETURN_NOT_OK(DecodePgBinary(columns_[c], p, flen, out.column(c)));
    p += flen;
  }
  if (p != end) return Status::IOError("binary COPY row has {} bytes after its last field", end - p);
  return Status::OK();
}

}  // namespace nilus
