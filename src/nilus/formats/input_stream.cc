#include "nilus/formats/input_stream.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "nilus/core/strings.h"

namespace nilus {

namespace {

constexpr size_t kChunk = 1 << 20;

class PlainFile final : public InputStream {
 public:
  PlainFile(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  ~PlainFile() override { std::fclose(f_); }
  Result<size_t> Read(char* buf, size_t n) override {
    size_t got = std::fread(buf, 1, n, f_);
    if (got == 0 && std::ferror(f_)) return Status::IOError("reading {}: {}", path_, std::strerror(errno));
    return got;
  }
  Status Skip(uint64_t n) override {
    if (fseeko(f_, static_cast<off_t>(n), SEEK_CUR) != 0) {
      return Status::IOError("seeking in {}: {}", path_, std::strerror(errno));
    }
    return Status::OK();
  }

 private:
  std::FILE* f_;
  std::string path_;
};

class GzipFile final : public InputStream {
 public:
  GzipFile(gzFile f, std::string path) : f_(f), path_(std::move(path)) {}
  ~GzipFile() override { gzclose(f_); }
  Result<size_t> Read(char* buf, size_t n) override {
    int got = gzread(f_, buf, static_cast<unsigned>(n));
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(f_, &err);
      return Status::InvalidInput("{}: not a valid gzip file ({})", path_, msg);
    }
    return static_cast<size_t>(got);
  }

 private:
  gzFile f_;
  std::string path_;
};

class ZstdFile final : public InputStream {
 public:
  ZstdFile(std::FILE* f, std::string path) : f_(f), path_(std::move(path)), in_(kChunk) { dctx_ = ZSTD_createDCtx(); }
  ~ZstdFile() override {
    ZSTD_freeDCtx(dctx_);
    std::fclose(f_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0) {
      if (input_.pos == input_.size) {
        size_t got = std::fread(in_.data(), 1, in_.size(), f_);
        if (got == 0) {
          if (std::ferror(f_)) return Status::IOError("reading {}: {}", path_, std::strerror(errno));
          if (!frame_done_) return Status::InvalidInput("{}: the zstd stream is truncated", path_);
          return size_t{0};
        }
        input_ = ZSTD_inBuffer{in_.data(), got, 0};
      }
      size_t rc = ZSTD_decompressStream(dctx_, &out, &input_);
      if (ZSTD_isError(rc)) {
        return Status::InvalidInput("{}: not a valid zstd file ({})", path_, ZSTD_getErrorName(rc));
      }
      frame_done_ = rc == 0;
    }
    return out.pos;
  }

 private:
  std::FILE* f_;
  std::string path_;
  std::vector<char> in_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  ZSTD_DCtx* dctx_;
  bool frame_done_ = true;
};

}  // namespace

Status InputStream::Skip(uint64_t n) {
  std::vector<char> scratch(std::min<uint64_t>(n, kChunk));
  while (n > 0) {
    NILUS_ASSIGN_OR_RAISE(size_t got, Read(scratch.data(), std::min<uint64_t>(n, scratch.size())));
    if (got == 0) return Status::InvalidInput("the file is shorter than when it was read in part; it changed since");
    n -= got;
  }
  return Status::OK();
}

std::string StripCompressionExtension(const std::string& path) {
  for (const char* ext : {".gz", ".zst"}) {
    if (EndsWith(path, ext)) return path.substr(0, path.size() - std::strlen(ext));
  }
  return path;
}

Result<std::unique_ptr<InputStream>> OpenInputStream(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    if (errno == ENOENT) return Status::InvalidInput("file {} does not exist", path);
    return Status::IOError("cannot open {}: {}", path, std::strerror(errno));
  }
  if (EndsWith(path, ".gz")) {
    // zlib would read a file without the gzip magic bytes as plain text; say it is broken instead.
    unsigned char magic[2] = {0, 0};
    size_t got = std::fread(magic, 1, 2, f);
    std::fclose(f);
    if (got != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
      return Status::InvalidInput("{}: not a valid gzip file (no gzip header)", path);
    }
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) return Status::IOError("cannot open {}: {}", path, std::strerror(errno));
    gzbuffer(gz, kChunk);
    return std::unique_ptr<InputStream>(new GzipFile(gz, path));
  }
  if (EndsWith(path, ".zst")) return std::unique_ptr<InputStream>(new ZstdFile(f, path));
  return std::unique_ptr<InputStream>(new PlainFile(f, path));
}

Result<bool> LineReader::Next(std::string_view* line) {
  while (true) {
    size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      size_t end = nl > pos_ && buf_[nl - 1] == '\r' ? nl - 1 : nl;
      *line = std::string_view(buf_).substr(pos_, end - pos_);
      pos_ = nl + 1;
      ++line_number_;
      return true;
    }
    if (eof_) {
      if (pos_ >= buf_.size()) return false;
      *line = std::string_view(buf_).substr(pos_);
      if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
      pos_ = buf_.size();
      ++line_number_;
      return true;
    }
    buf_.erase(0, pos_);
    base_ += static_cast<int64_t>(pos_);
    pos_ = 0;
    // Read into a buffer of its own: growing buf_ to read in place would zero a whole chunk for
    // every read, however few bytes the stream gives.
    if (!chunk_) chunk_.reset(new char[kChunk]);  // not zeroed: read() fills what is used
    NILUS_ASSIGN_OR_RAISE(size_t got, in_->Read(chunk_.get(), kChunk));
    buf_.append(chunk_.get(), got);
    if (got == 0) eof_ = true;
  }
}

Status LineReader::SeekTo(const StreamPosition& position) {
  int64_t end = base_ + static_cast<int64_t>(buf_.size());
  if (position.offset < base_ + static_cast<int64_t>(pos_)) {
    return Status::Internal("cannot seek back in a line reader");
  }
  if (position.offset <= end) {
    pos_ = static_cast<size_t>(position.offset - base_);
  } else {
    NILUS_RETURN_NOT_OK(in_->Skip(static_cast<uint64_t>(position.offset - end)));
    buf_.clear();
    pos_ = 0;
    base_ = position.offset;
  }
  line_number_ = position.line;
  return Status::OK();
}

}  // namespace nilus
