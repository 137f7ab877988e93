#include "nilus/formats/avro/avro_reader.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace nilus::avro {

namespace {

using nlohmann::json;

/// Reads values of a schema from a byte range; every read is bounds-checked.
class Decoder {
 public:
  Decoder(std::string_view data, const std::string& path) : data_(data), path_(path) {}

  bool done() const { return pos_ >= data_.size(); }

  Result<int64_t> Long() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Truncated();
      auto b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
    }
    return Status::IOError("{}: a malformed varint", path_);
  }
  Result<std::string> Bytes() {
    NILUS_ASSIGN_OR_RAISE(int64_t n, Long());
    return Take(n);
  }
  Result<std::string> Take(int64_t n) {
    if (n < 0 || static_cast<uint64_t>(n) > data_.size() - pos_) return Truncated();
    std::string out(data_.substr(pos_, static_cast<size_t>(n)));
    pos_ += static_cast<size_t>(n);
    return out;
  }

  /// A value of `schema`; `names` holds the named types seen so far.
  Result<json> Value(const json& schema, std::map<std::string, json>& names) {
    if (schema.is_array()) {  // a union
      NILUS_ASSIGN_OR_RAISE(int64_t branch, Long());
      if (branch < 0 || static_cast<size_t>(branch) >= schema.size()) {
        return Status::IOError("{}: union branch {} out of range", path_, branch);
      }
      return Value(schema[static_cast<size_t>(branch)], names);
    }
    if (schema.is_string()) {
      const std::string type = schema.get<std::string>();
      if (type == "null") return json(nullptr);
      if (type == "boolean") {
        NILUS_ASSIGN_OR_RAISE(std::string b, Take(1));
        return json(b[0] != 0);
      }
      if (type == "int" || type == "long") {
        NILUS_ASSIGN_OR_RAISE(int64_t v, Long());
        return json(v);
      }
      if (type == "float" || type == "double") {
        const int width = type == "float" ? 4 : 8;
        NILUS_ASSIGN_OR_RAISE(std::string b, Take(width));
        if (width == 4) {
          float f;
          std::memcpy(&f, b.data(), 4);
          return json(f);
        }
        double d;
        std::memcpy(&d, b.data(), 8);
        return json(d);
      }
      if (type == "bytes" || type == "string") {
        NILUS_ASSIGN_OR_RAISE(std::string s, Bytes());
        return json(std::move(s));
      }
      auto named = names.find(type);
      if (named == names.end()) return Status::IOError("{}: unknown Avro type '{}'", path_, type);
      return Value(named->second, names);
    }
    if (!schema.is_object() || !schema.contains("type")) return Status::IOError("{}: a malformed Avro schema", path_);
    const std::string type = schema["type"].is_string() ? schema["type"].get<std::string>() : "";
    if (schema.contains("name") && (type == "record" || type == "fixed" || type == "enum")) {
      names[schema["name"].get<std::string>()] = schema;
    }
    if (type == "record") {
      json out = json::object();
      for (const auto& field : schema.value("fields", json::array())) {
        NILUS_ASSIGN_OR_RAISE(json v, Value(field["type"], names));
        out[field["name"].get<std::string>()] = std::move(v);
      }
      return out;
    }
    if (type == "fixed") {
      NILUS_ASSIGN_OR_RAISE(std::string s, Take(schema.value("size", 0)));
      return json(std::move(s));
    }
    if (type == "enum") {
      NILUS_ASSIGN_OR_RAISE(int64_t i, Long());
      const json& symbols = schema["symbols"];
      if (i < 0 || static_cast<size_t>(i) >= symbols.size()) return Status::IOError("{}: enum out of range", path_);
      return symbols[static_cast<size_t>(i)];
    }
    if (type == "array" || type == "map") {
      json out = type == "array" ? json::array() : json::object();
      while (true) {
        NILUS_ASSIGN_OR_RAISE(int64_t n, Long());
        if (n == 0) break;
        if (n < 0) {
          n = -n;
          NILUS_RETURN_NOT_OK(Long().status());  // the block's size in bytes
        }
        for (int64_t k = 0; k < n; ++k) {
          if (type == "array") {
            NILUS_ASSIGN_OR_RAISE(json v, Value(schema["items"], names));
            out.push_back(std::move(v));
          } else {
            NILUS_ASSIGN_OR_RAISE(std::string key, Bytes());
            NILUS_ASSIGN_OR_RAISE(json v, Value(schema["values"], names));
            out[key] = std::move(v);
          }
        }
      }
      return out;
    }
    return Value(schema["type"], names);  // {"type": "long", "logicalType": …} and the like
  }

 private:
  Status Truncated() const { return Status::IOError("{}: the Avro data ends early", path_); }

  std::string_view data_;
  const std::string& path_;
  size_t pos_ = 0;
};

Result<std::string> Inflate(std::string_view in, const std::string& path) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return Status::Internal("inflateInit2 failed");
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return Status::IOError("{}: a deflated Avro block does not inflate", path);
    }
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc != Z_STREAM_END && z.avail_in > 0);
  inflateEnd(&z);
  return out;
}

}  // namespace

Result<File> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Decode(ss.str(), path);
}

Result<File> Decode(std::string_view data, const std::string& path) {
  if (data.compare(0, 4, "Obj\x01", 4) != 0) return Status::IOError("{} is not an Avro container file", path);
  Decoder d(std::string_view(data).substr(4), path);
  File file;
  json meta_schema = {{"type", "map"}, {"values", "bytes"}};
  std::map<std::string, json> names;
  NILUS_ASSIGN_OR_RAISE(json meta, d.Value(meta_schema, names));
  for (auto& [k, v] : meta.items()) file.metadata[k] = v.get<std::string>();
  file.schema = json::parse(file.metadata["avro.schema"], nullptr, false);
  if (file.schema.is_discarded()) return Status::IOError("{}: its Avro schema is not JSON", path);
  const std::string codec = file.metadata.count("avro.codec") ? file.metadata["avro.codec"] : "null";
  if (codec != "null" && codec != "deflate") {
    return Status::IOError("{}: Avro codec '{}' is not supported (null and deflate are)", path, codec);
  }
  NILUS_ASSIGN_OR_RAISE(std::string sync, d.Take(16));
  while (!d.done()) {
    NILUS_ASSIGN_OR_RAISE(int64_t count, d.Long());
    NILUS_ASSIGN_OR_RAISE(std::string block, d.Bytes());
    NILUS_ASSIGN_OR_RAISE(std::string marker, d.Take(16));
    if (marker != sync) return Status::IOError("{}: an Avro block's sync marker does not match", path);
    if (codec == "deflate") {
      NILUS_ASSIGN_OR_RAISE(block, Inflate(block, path));
    }
    Decoder records(block, path);
    for (int64_t i = 0; i < count; ++i) {
      names.clear();
      NILUS_ASSIGN_OR_RAISE(json r, records.Value(file.schema, names));
      file.records.push_back(std::move(r));
    }
  }
  return file;
}

}  // namespace nilus::avro
