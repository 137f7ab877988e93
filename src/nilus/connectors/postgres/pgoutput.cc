#include "nilus/connectors/postgres/pgoutput.h"

#include <fmt/format.h>

#include <cstdio>

#include "nilus/connectors/postgres/pg_types.h"

namespace nilus {

std::string FormatLsn(Lsn lsn) { return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xffffffffu); }

bool ParseLsn(std::string_view text, Lsn* out) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() || slash > 8 ||
      text.size() - slash - 1 > 8) {
    return false;
  }
  uint64_t hi = 0, lo = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == slash) continue;
    char c = text[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0) return false;
    uint64_t& part = i < slash ? hi : lo;
    part = part << 4 | static_cast<uint64_t>(d);
  }
  *out = hi << 32 | lo;
  return true;
}

namespace pgoutput {

namespace {

/// Reads a message front to back; every read checks that the bytes are there.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool done() const { return pos_ == data_.size(); }

  Status Byte(char* out) {
    NILUS_RETURN_NOT_OK(Need(1));
    *out = data_[pos_++];
    return Status::OK();
  }
  Status U16(uint16_t* out) {
    NILUS_RETURN_NOT_OK(Need(2));
    *out = Be16(data_.data() + pos_);
    pos_ += 2;
    return Status::OK();
  }
  Status U32(uint32_t* out) {
    NILUS_RETURN_NOT_OK(Need(4));
    *out = Be32(data_.data() + pos_);
    pos_ += 4;
    return Status::OK();
  }
  Status U64(uint64_t* out) {
    NILUS_RETURN_NOT_OK(Need(8));
    *out = Be64(data_.data() + pos_);
    pos_ += 8;
    return Status::OK();
  }
  Status I64(int64_t* out) {
    uint64_t v;
    NILUS_RETURN_NOT_OK(U64(&v));
    *out = static_cast<int64_t>(v);
    return Status::OK();
  }
  /// A NUL-terminated string.
  Status String(std::string* out) {
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) return Truncated();
    out->assign(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return Status::OK();
  }
  Status Bytes(size_t n, std::string_view* out) {
    NILUS_RETURN_NOT_OK(Need(n));
    *out = data_.substr(pos_, n);
    pos_ += n;
    return Status::OK();
  }

  Status TupleData(Tuple* out) {
    uint16_t n;
    NILUS_RETURN_NOT_OK(U16(&n));
    out->assign(n, Value{});
    for (auto& v : *out) {
      char kind;
      NILUS_RETURN_NOT_OK(Byte(&kind));
      switch (kind) {
        case Value::kNull:
        case Value::kUnchanged:
          v.kind = static_cast<Value::Kind>(kind);
          break;
        case Value::kText:
        case Value::kBinary: {
          v.kind = static_cast<Value::Kind>(kind);
          uint32_t len;
          NILUS_RETURN_NOT_OK(U32(&len));
          NILUS_RETURN_NOT_OK(Bytes(len, &v.data));
          break;
        }
        default:
          return Status::IOError("pgoutput: unknown tuple value kind 0x{:02x}", static_cast<unsigned char>(kind));
      }
    }
    return Status::OK();
  }

 private:
  Status Need(size_t n) const { return data_.size() - pos_ < n ? Truncated() : Status::OK(); }
  Status Truncated() const {
    return Status::IOError("pgoutput: a message of {} bytes ends early (at byte {})", data_.size(), pos_);
  }

  std::string_view data_;
  size_t pos_ = 0;
};

Status DecodeRelation(Reader& r, Relation* rel) {
  NILUS_RETURN_NOT_OK(r.U32(&rel->oid));
  NILUS_RETURN_NOT_OK(r.String(&rel->schema));
  if (rel->schema.empty()) rel->schema = "pg_catalog";
  NILUS_RETURN_NOT_OK(r.String(&rel->name));
  NILUS_RETURN_NOT_OK(r.Byte(&rel->replica_identity));
  uint16_t n;
  NILUS_RETURN_NOT_OK(r.U16(&n));
  rel->columns.assign(n, RelationColumn{});
  for (auto& c : rel->columns) {
    char flags;
    NILUS_RETURN_NOT_OK(r.Byte(&flags));
    c.key = (flags & 1) != 0;
    NILUS_RETURN_NOT_OK(r.String(&c.name));
    NILUS_RETURN_NOT_OK(r.U32(&c.type_oid));
    uint32_t mod;
    NILUS_RETURN_NOT_OK(r.U32(&mod));
    c.type_modifier = static_cast<int32_t>(mod);
  }
  return Status::OK();
}

Status DecodeChange(char type, Reader& r, RowChange* c) {
  c->kind = type;
  c->old_kind = 0;
  c->old_tuple.clear();
  c->new_tuple.clear();
  NILUS_RETURN_NOT_OK(r.U32(&c->relation));
  char tag;
  NILUS_RETURN_NOT_OK(r.Byte(&tag));
  if (tag == 'K' || tag == 'O') {
    if (type == 'I') return Status::IOError("pgoutput: an insert with an old tuple");
    c->old_kind = tag;
    NILUS_RETURN_NOT_OK(r.TupleData(&c->old_tuple));
    if (type == 'D') return Status::OK();
    NILUS_RETURN_NOT_OK(r.Byte(&tag));
  }
  if (tag != 'N' || type == 'D') {
    return Status::IOError("pgoutput: unexpected tuple tag '{}' in a{} message", tag,
                           type == 'I'   ? "n insert"
                           : type == 'U' ? "n update"
                                         : " delete");
  }
  return r.TupleData(&c->new_tuple);
}

}  // namespace

Status Decode(std::string_view data, Message* m) {
  Reader r(data);
  NILUS_RETURN_NOT_OK(r.Byte(&m->type));
  switch (m->type) {
    case 'B':
      NILUS_RETURN_NOT_OK(r.U64(&m->begin.final_lsn));
      NILUS_RETURN_NOT_OK(r.I64(&m->begin.commit_time));
      NILUS_RETURN_NOT_OK(r.U32(&m->begin.xid));
      break;
    case 'C': {
      char flags;
      NILUS_RETURN_NOT_OK(r.Byte(&flags));
      NILUS_RETURN_NOT_OK(r.U64(&m->commit.commit_lsn));
      NILUS_RETURN_NOT_OK(r.U64(&m->commit.end_lsn));
      NILUS_RETURN_NOT_OK(r.I64(&m->commit.commit_time));
      break;
    }
    case 'R':
      NILUS_RETURN_NOT_OK(DecodeRelation(r, &m->relation));
      break;
    case 'Y': {
      uint32_t oid;
      std::string schema;
      NILUS_RETURN_NOT_OK(r.U32(&oid));
      NILUS_RETURN_NOT_OK(r.String(&schema));
      NILUS_RETURN_NOT_OK(r.String(&m->name));
      break;
    }
    case 'O': {
      uint64_t lsn;
      NILUS_RETURN_NOT_OK(r.U64(&lsn));
      NILUS_RETURN_NOT_OK(r.String(&m->name));
      break;
    }
    case 'M': {
      char flags;
      uint64_t lsn;
      uint32_t len;
      std::string_view content;
      NILUS_RETURN_NOT_OK(r.Byte(&flags));
      NILUS_RETURN_NOT_OK(r.U64(&lsn));
      NILUS_RETURN_NOT_OK(r.String(&m->name));
      NILUS_RETURN_NOT_OK(r.U32(&len));
      NILUS_RETURN_NOT_OK(r.Bytes(len, &content));
      break;
    }
    case 'I':
    case 'U':
    case 'D':
      NILUS_RETURN_NOT_OK(DecodeChange(m->type, r, &m->change));
      break;
    case 'T': {
      uint32_t n;
      char options;
      NILUS_RETURN_NOT_OK(r.U32(&n));
      NILUS_RETURN_NOT_OK(r.Byte(&options));
      m->truncate.cascade = (options & 1) != 0;
      m->truncate.restart_identity = (options & 2) != 0;
      if (n > data.size()) return Status::IOError("pgoutput: a truncate of {} relations in {} bytes", n, data.size());
      m->truncate.relations.assign(n, 0);
      for (auto& oid : m->truncate.relations) NILUS_RETURN_NOT_OK(r.U32(&oid));
      break;
    }
    default:
      return Status::IOError("pgoutput: unknown message type 0x{:02x}", static_cast<unsigned char>(m->type));
  }
  if (!r.done()) return Status::IOError("pgoutput: {} bytes left over after a '{}' message", data.size(), m->type);
  return Status::OK();
}

}  // namespace pgoutput

}  // namespace nilus
