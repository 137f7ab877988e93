#include "nilus/formats/avro/avro_writer.h"

#include <zlib.h>

#include <random>

namespace nilus::avro {

namespace {

constexpr size_t kBlockBytes = 1 << 20;

/// Raw deflate (RFC 1951, no zlib header), as Avro's "deflate" codec wants it.
Status Deflate(const std::string& in, std::string& out) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("deflateInit2 failed");
  }
  out.resize(deflateBound(&z, in.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::Internal("deflate failed ({})", rc);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<FileWriter>> FileWriter::Open(const std::string& path, std::string_view schema_json,
                                                     const std::vector<std::pair<std::string, std::string>>& metadata,
                                                     Codec codec) {
  NILUS_ASSIGN_OR_RAISE(auto file, OutputFile::Open(path));
  auto w = std::unique_ptr<FileWriter>(new FileWriter(std::move(file), codec));
  std::random_device random;
  for (int i = 0; i < 4; ++i) {
    uint32_t r = random();
    w->sync_.append(reinterpret_cast<const char*>(&r), 4);
  }
  std::string header = "Obj\x01";
  Encoder e(header);
  e.BeginBlock(static_cast<int64_t>(metadata.size() + 2));
  e.String("avro.schema");
  e.Bytes(schema_json);
  e.String("avro.codec");
  e.Bytes(codec == Codec::kDeflate ? "deflate" : "null");
  for (const auto& [key, value] : metadata) {
    e.String(key);
    e.Bytes(value);
  }
  e.EndBlocks();
  header += w->sync_;
  NILUS_RETURN_NOT_OK(w->file_->Write(header));
  return w;
}

Status FileWriter::Append(std::string_view record) {
  block_ += record;
  ++records_;
  return block_.size() >= kBlockBytes ? FlushBlock() : Status::OK();
}

Status FileWriter::FlushBlock() {
  if (records_ == 0) return Status::OK();
  std::string data;
  if (codec_ == Codec::kDeflate) {
    NILUS_RETURN_NOT_OK(Deflate(block_, data));
  } else {
    data = std::move(block_);
  }
  std::string head;
  Encoder e(head);
  e.Long(records_);
  e.Long(static_cast<int64_t>(data.size()));
  NILUS_RETURN_NOT_OK(file_->Write(head));
  NILUS_RETURN_NOT_OK(file_->Write(data));
  NILUS_RETURN_NOT_OK(file_->Write(sync_));
  block_.clear();
  records_ = 0;
  return Status::OK();
}

Result<int64_t> FileWriter::Close() {
  NILUS_RETURN_NOT_OK(FlushBlock());
  NILUS_RETURN_NOT_OK(file_->Close());
  return file_->size();
}

}  // namespace nilus::avro
