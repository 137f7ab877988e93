#include "nilus/formats/avro/avro_writer.h"

#include <zlib.h>

#include <algorithm>
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

Status EncodeJson(const nlohmann::json& schema, const nlohmann::json& value, std::string& out,
                  std::map<std::string, nlohmann::json>& names) {
  Encoder e(out);
  if (schema.is_array()) {  // a union
    for (size_t b = 0; b < schema.size(); ++b) {
      if ((schema[b] == "null") == value.is_null()) {
        e.Union(static_cast<int>(b));
        return EncodeJson(schema[b], value, out, names);
      }
    }
    return Status::Internal("no branch of the Avro union {} holds {}", schema.dump(),
                            value.is_null() ? "null" : "a value");
  }
  const std::string type = schema.is_string() ? schema.get<std::string>() : schema.value("type", "");
  auto mismatch = [&] { return Status::Internal("an Avro {} cannot hold {}", type, value.type_name()); };
  if (type == "null") return Status::OK();
  if (type == "boolean") {
    if (!value.is_boolean()) return mismatch();
    e.Bool(value.get<bool>());
  } else if (type == "int" || type == "long") {
    if (!value.is_number_integer()) return mismatch();
    e.Long(value.get<int64_t>());
  } else if (type == "float" || type == "double") {
    if (!value.is_number()) return mismatch();
    if (type == "float") {
      const float f = value.get<float>();
      out.append(reinterpret_cast<const char*>(&f), 4);
    } else {
      e.Double(value.get<double>());
    }
  } else if (type == "bytes" || type == "string" || type == "fixed") {
    if (!value.is_string()) return mismatch();
    if (type == "fixed") {
      e.Fixed(value.get_ref<const std::string&>());
    } else {
      e.Bytes(value.get_ref<const std::string&>());
    }
  } else if (type == "enum") {
    const auto& symbols = schema["symbols"];
    auto it = std::find(symbols.begin(), symbols.end(), value);
    if (it == symbols.end()) return mismatch();
    e.Long(it - symbols.begin());
  } else if (type == "record") {
    if (!value.is_object()) return mismatch();
    for (const auto& field : schema["fields"]) {
      const std::string& name = field["name"].get_ref<const std::string&>();
      NILUS_RETURN_NOT_OK(EncodeJson(field["type"], value.contains(name) ? value[name] : nlohmann::json(), out, names));
    }
  } else if (type == "array" || type == "map") {
    if (type == "array" ? !value.is_array() : !value.is_object()) return mismatch();
    e.BeginBlock(static_cast<int64_t>(value.size()));
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (type == "map") e.String(it.key());
      NILUS_RETURN_NOT_OK(EncodeJson(schema[type == "array" ? "items" : "values"], *it, out, names));
    }
    e.EndBlocks();
  } else if (schema.is_object() && !schema["type"].is_string()) {
    return EncodeJson(schema["type"], value, out, names);
  } else if (auto named = names.find(type); named != names.end()) {
    return EncodeJson(named->second, value, out, names);
  } else {
    return Status::Internal("the Avro type {} is not one nilus writes", schema.dump());
  }
  if (schema.is_object() && schema.contains("name") && (type == "record" || type == "fixed" || type == "enum")) {
    names[schema["name"].get<std::string>()] = schema;
  }
  return Status::OK();
}

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
