#include "nilus/formats/avro/avro_writer.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
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

FileWriter::FileWriter(std::FILE* file, std::string path, Codec codec)
    : file_(file), path_(std::move(path)), codec_(codec) {}

FileWriter::~FileWriter() {
  if (!file_) return;
  // Abandoned before Close: the partial file is no file.
  std::fclose(file_);
  std::remove(path_.c_str());
}

Result<std::unique_ptr<FileWriter>> FileWriter::Open(const std::string& path, std::string_view schema_json,
                                                     const std::vector<std::pair<std::string, std::string>>& metadata,
                                                     Codec codec) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::IOError("cannot create {}: {}", path, std::strerror(errno));
  auto w = std::unique_ptr<FileWriter>(new FileWriter(f, path, codec));
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
  NILUS_RETURN_NOT_OK(w->Write(header));
  return w;
}

Status FileWriter::Write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return Status::IOError("writing {}: {}", path_, std::strerror(errno));
  }
  size_ += static_cast<int64_t>(bytes.size());
  return Status::OK();
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
  NILUS_RETURN_NOT_OK(Write(head));
  NILUS_RETURN_NOT_OK(Write(data));
  NILUS_RETURN_NOT_OK(Write(sync_));
  block_.clear();
  records_ = 0;
  return Status::OK();
}

Result<int64_t> FileWriter::Close() {
  NILUS_RETURN_NOT_OK(FlushBlock());
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) return Status::IOError("closing {}: {}", path_, std::strerror(errno));
  return size_;
}

}  // namespace nilus::avro
