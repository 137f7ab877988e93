#include "nilus/python/rows.h"

#include <datetime.h>  // after rows.h: pybind11 includes Python.h with PY_SSIZE_T_CLEAN
#include <fmt/format.h>

#include <cmath>
#include <mutex>

#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus::python {

namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

/// Python types the conversions test for, imported once (the GIL held) and kept for the life
/// of the process.
struct Types {
  PyObject* decimal = nullptr;
  PyObject* uuid = nullptr;
  PyObject* enumeration = nullptr;
  PyObject* json_loads = nullptr;
  PyObject* utcoffset = nullptr;  // the method name
  PyObject* isoformat = nullptr;
  PyObject* value = nullptr;
  PyObject* bytes = nullptr;
};

PyObject* Import(const char* module, const char* name) {
  PyObject* m = PyImport_ImportModule(module);
  if (!m) throw py::error_already_set();
  PyObject* out = PyObject_GetAttrString(m, name);
  Py_DECREF(m);
  if (!out) throw py::error_already_set();
  return out;
}

const Types& GetTypes() {
  static Types types;
  static std::once_flag once;
  std::call_once(once, [] {
    PyDateTime_IMPORT;
    types.decimal = Import("decimal", "Decimal");
    types.uuid = Import("uuid", "UUID");
    types.enumeration = Import("enum", "Enum");
    types.json_loads = Import("json", "loads");
    types.utcoffset = PyUnicode_InternFromString("utcoffset");
    types.isoformat = PyUnicode_InternFromString("isoformat");
    types.value = PyUnicode_InternFromString("value");
    types.bytes = PyUnicode_InternFromString("bytes");
  });
  return types;
}

/// A new reference, released at the end of the scope.
struct Ref {
  explicit Ref(PyObject* o) : p(o) {}
  ~Ref() { Py_XDECREF(p); }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  PyObject* p;
};

std::string_view Utf8(PyObject* s) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(s, &size);
  if (!data) throw py::error_already_set();
  return {data, static_cast<size_t>(size)};
}

std::string TypeName(PyObject* o) { return Py_TYPE(o)->tp_name; }

/// Microseconds of a timedelta.
int64_t DeltaMicros(PyObject* delta) {
  return PyDateTime_DELTA_GET_DAYS(delta) * kMicrosPerDay + PyDateTime_DELTA_GET_SECONDS(delta) * 1000000LL +
         PyDateTime_DELTA_GET_MICROSECONDS(delta);
}

/// A datetime as microseconds since the epoch (of its own clock, or UTC when `utc` and it has
/// a zone); sets `aware` when it has one.
int64_t DateTimeMicros(PyObject* v, bool* aware) {
  int64_t days = DaysFromCivil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v));
  int64_t micros = days * kMicrosPerDay + PyDateTime_DATE_GET_HOUR(v) * 3600000000LL +
                   PyDateTime_DATE_GET_MINUTE(v) * 60000000LL + PyDateTime_DATE_GET_SECOND(v) * 1000000LL +
                   PyDateTime_DATE_GET_MICROSECOND(v);
  *aware = false;
  if (PyDateTime_DATE_GET_TZINFO(v) != Py_None) {
    Ref offset(PyObject_CallMethodNoArgs(v, GetTypes().utcoffset));
    if (!offset.p) throw py::error_already_set();
    if (offset.p != Py_None) {
      *aware = true;
      micros -= DeltaMicros(offset.p);
    }
  }
  return micros;
}

int64_t TimeMicros(PyObject* v) {
  return PyDateTime_TIME_GET_HOUR(v) * 3600000000LL + PyDateTime_TIME_GET_MINUTE(v) * 60000000LL +
         PyDateTime_TIME_GET_SECOND(v) * 1000000LL + PyDateTime_TIME_GET_MICROSECOND(v);
}

bool IsInstance(PyObject* v, PyObject* type) {
  int r = PyObject_IsInstance(v, type);
  if (r < 0) throw py::error_already_set();
  return r == 1;
}

void AppendBase64(std::string& out, std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(n >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
}

std::string_view BytesOf(PyObject* v, Py_buffer* view) {
  if (PyObject_GetBuffer(v, view, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  return {static_cast<const char*>(view->buf), static_cast<size_t>(view->len)};
}

/// Writes a Python value as JSON: the json columns of nested data. Values JSON has no form for
/// are written as text (ISO-8601 dates and times, UUIDs, base64 bytes); NaN and infinities as null.
void WriteJson(PyObject* v, std::string& out, int depth = 0) {
  if (depth > 200) throw std::runtime_error("a value nested more than 200 levels deep (a cycle?)");
  const Types& types = GetTypes();
  if (v == Py_None) {
    out += "null";
  } else if (PyBool_Check(v)) {
    out += v == Py_True ? "true" : "false";
  } else if (PyLong_Check(v)) {
    int overflow = 0;
    long long i = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow == 0) {
      fmt::format_to(std::back_inserter(out), "{}", i);
    } else {
      Ref s(PyObject_Str(v));
      out += Utf8(s.p);
    }
  } else if (PyFloat_Check(v)) {
    double d = PyFloat_AS_DOUBLE(v);
    if (std::isfinite(d)) {
      fmt::format_to(std::back_inserter(out), "{}", d);
    } else {
      out += "null";
    }
  } else if (PyUnicode_Check(v)) {
    AppendJsonString(out, Utf8(v));
  } else if (PyDict_Check(v)) {
    out += '{';
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    bool first = true;
    while (PyDict_Next(v, &pos, &key, &value)) {
      if (!first) out += ',';
      first = false;
      if (PyUnicode_Check(key)) {
        AppendJsonString(out, Utf8(key));
      } else {
        Ref s(PyObject_Str(key));
        if (!s.p) throw py::error_already_set();
        AppendJsonString(out, Utf8(s.p));
      }
      out += ':';
      WriteJson(value, out, depth + 1);
    }
    out += '}';
  } else if (PyList_Check(v) || PyTuple_Check(v) || PyAnySet_Check(v)) {
    Ref items(PySequence_Fast(v, "a sequence"));
    if (!items.p) throw py::error_already_set();
    out += '[';
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items.p);
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (i) out += ',';
      WriteJson(PySequence_Fast_GET_ITEM(items.p, i), out, depth + 1);
    }
    out += ']';
  } else if (PyBytes_Check(v) || PyByteArray_Check(v) || PyMemoryView_Check(v)) {
    Py_buffer view;
    std::string_view bytes = BytesOf(v, &view);
    out += '"';
    AppendBase64(out, bytes);
    out += '"';
    PyBuffer_Release(&view);
  } else if (PyDateTime_Check(v) || PyDate_Check(v) || PyTime_Check(v)) {
    Ref s(PyObject_CallMethodNoArgs(v, types.isoformat));
    if (!s.p) throw py::error_already_set();
    AppendJsonString(out, Utf8(s.p));
  } else if (IsInstance(v, types.decimal)) {
    Ref s(PyObject_Str(v));
    std::string canonical;
    if (s.p && ParseDecimal(Utf8(s.p), &canonical)) {
      out += canonical;
    } else {
      out += "null";
    }
  } else if (IsInstance(v, types.enumeration)) {
    Ref inner(PyObject_GetAttr(v, types.value));
    if (!inner.p) throw py::error_already_set();
    WriteJson(inner.p, out, depth + 1);
  } else {
    Ref s(PyObject_Str(v));
    if (!s.p) throw py::error_already_set();
    AppendJsonString(out, Utf8(s.p));
  }
}

}  // namespace

RowsToTables::RowsToTables(int max_nesting) : max_nesting_(max_nesting) { GetTypes(); }

Status RowsToTables::Bad(const std::string& key, PyObject* value, std::string_view why) const {
  std::string field = key;
  for (char& c : field) {
    if (c == FlatTableBuilder::kKeySeparator) c = '.';
  }
  return Status::InvalidInput(
      "resource {}: field '{}': {} ({}); yield str, int, float, bool, None, Decimal, datetime, "
      "date, time, UUID, bytes, dicts and lists",
      origin_, field, why, TypeName(value));
}

Status RowsToTables::Add(PyObject* item, const std::string& origin) {
  if (origin_ != origin) origin_ = origin;
  try {
    if (PyDict_Check(item)) return AddRow(item);
    if (PyList_Check(item) || PyTuple_Check(item)) {
      Py_ssize_t n = PySequence_Fast_GET_SIZE(item);
      for (Py_ssize_t i = 0; i < n; ++i) {
        PyObject* row = PySequence_Fast_GET_ITEM(item, i);
        if (!PyDict_Check(row)) {
          return Status::InvalidInput("resource {} yielded a list holding a {}; yield dicts, or lists of dicts",
                                      origin_, TypeName(row));
        }
        NILUS_RETURN_NOT_OK(AddRow(row));
      }
      return Status::OK();
    }
  } catch (py::error_already_set& e) {
    builder_.Reset();
    return ErrorStatus(e, "resource " + origin_);
  } catch (const std::exception& e) {
    builder_.Reset();
    return Status::InvalidInput("resource {}: {}", origin_, e.what());
  }
  return Status::InvalidInput("resource {} yielded a {}; yield dicts (one row each), or lists of dicts", origin_,
                              TypeName(item));
}

Status RowsToTables::AddRow(PyObject* row) {
  int64_t r = builder_.AddRootRow();
  std::string key;
  Status st = AddObject(0, r, row, key, 0, 1);
  if (!st.ok()) builder_.Reset();
  return st;
}

Status RowsToTables::AddObject(size_t t, int64_t row, PyObject* dict, std::string& key, int keys, int depth) {
  PyObject *name, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &name, &value)) {
    size_t mark = key.size();
    if (keys > 0) key += FlatTableBuilder::kKeySeparator;
    if (PyUnicode_Check(name)) {
      key += Utf8(name);
    } else {
      Ref s(PyObject_Str(name));
      if (!s.p) throw py::error_already_set();
      key += Utf8(s.p);
    }
    Status st = AddValue(t, row, value, key, keys + 1, depth);
    key.resize(mark);
    NILUS_RETURN_NOT_OK(st);
  }
  return Status::OK();
}

Status RowsToTables::AddValue(size_t t, int64_t row, PyObject* v, std::string& key, int keys, int depth) {
  const Types& types = GetTypes();
  auto cell = [&](FlatKind kind) { return builder_.Cell(t, key, row, kind); };
  if (v == Py_None) return Status::OK();
  if (PyUnicode_Check(v)) {
    std::string_view s = Utf8(v);
    bytes_ += static_cast<int64_t>(s.size());
    if (Column* c = cell(kFlatText)) c->AppendBytes(s);
    return Status::OK();
  }
  bytes_ += 8;
  if (PyBool_Check(v)) {
    if (Column* c = cell(kFlatBool)) c->AppendBool(v == Py_True);
    return Status::OK();
  }
  if (PyLong_Check(v)) {
    int overflow = 0;
    long long i = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow == 0) {
      if (Column* c = cell(kFlatBigint)) c->AppendInt64(i);
      return Status::OK();
    }
    Ref s(PyObject_Str(v));
    if (!s.p) throw py::error_already_set();
    if (Column* c = cell(kFlatDecimal)) c->AppendBytes(Utf8(s.p));
    return Status::OK();
  }
  if (PyFloat_Check(v)) {
    if (Column* c = cell(kFlatDouble)) c->AppendDouble(PyFloat_AS_DOUBLE(v));
    return Status::OK();
  }
  if (PyDateTime_Check(v)) {
    bool aware = false;
    int64_t micros = DateTimeMicros(v, &aware);
    if (Column* c = cell(aware ? kFlatTimestamptz : kFlatTimestamp)) c->AppendInt64(micros);
    return Status::OK();
  }
  if (PyDate_Check(v)) {
    int64_t days = DaysFromCivil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v));
    if (Column* c = cell(kFlatDate)) c->AppendInt64(days);
    return Status::OK();
  }
  if (PyTime_Check(v)) {
    if (Column* c = cell(kFlatTime)) c->AppendInt64(TimeMicros(v));
    return Status::OK();
  }
  if (PyDict_Check(v)) {
    if (depth <= max_nesting_) return AddObject(t, row, v, key, keys, depth + 1);
  } else if (PyList_Check(v) || PyTuple_Check(v)) {
    if (depth <= max_nesting_) return AddArray(t, row, v, key, depth);
  } else if (PyBytes_Check(v) || PyByteArray_Check(v) || PyMemoryView_Check(v)) {
    Py_buffer view;
    std::string_view bytes = BytesOf(v, &view);
    bytes_ += static_cast<int64_t>(bytes.size());
    if (Column* c = cell(kFlatBinary)) c->AppendBytes(bytes);
    PyBuffer_Release(&view);
    return Status::OK();
  } else if (IsInstance(v, types.decimal)) {
    Ref s(PyObject_Str(v));
    if (!s.p) throw py::error_already_set();
    std::string canonical;
    if (!ParseDecimal(Utf8(s.p), &canonical)) return Bad(key, v, "a Decimal that is not a number");
    if (Column* c = cell(kFlatDecimal)) c->AppendBytes(canonical);
    return Status::OK();
  } else if (IsInstance(v, types.uuid)) {
    Ref raw(PyObject_GetAttr(v, types.bytes));
    if (!raw.p || !PyBytes_Check(raw.p) || PyBytes_GET_SIZE(raw.p) != 16) throw py::error_already_set();
    if (Column* c = cell(kFlatUuid)) c->AppendBytes(std::string_view(PyBytes_AS_STRING(raw.p), 16));
    return Status::OK();
  } else if (IsInstance(v, types.enumeration)) {
    Ref inner(PyObject_GetAttr(v, types.value));
    if (!inner.p) throw py::error_already_set();
    return AddValue(t, row, inner.p, key, keys, depth);
  } else if (PyAnySet_Check(v)) {
    // A set has no order to keep: it is stored as a json list.
  } else if (PyIndex_Check(v)) {  // integers of other libraries (numpy)
    Ref i(PyNumber_Index(v));
    if (!i.p) throw py::error_already_set();
    return AddValue(t, row, i.p, key, keys, depth);
  } else if (PyNumber_Check(v) && Py_TYPE(v)->tp_as_number->nb_float) {  // numpy floats
    Ref d(PyNumber_Float(v));
    if (!d.p) throw py::error_already_set();
    return AddValue(t, row, d.p, key, keys, depth);
  } else {
    return Bad(key, v, "a value nilus cannot load");
  }
  json_.clear();
  WriteJson(v, json_);
  bytes_ += static_cast<int64_t>(json_.size());
  if (Column* c = cell(kFlatJson)) c->AppendBytes(json_);
  return Status::OK();
}

Status RowsToTables::AddArray(size_t t, int64_t row, PyObject* sequence, const std::string& key, int depth) {
  size_t child = builder_.ChildTable(t, key);
  Py_ssize_t n = PySequence_Fast_GET_SIZE(sequence);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(sequence, i);
    int64_t child_row = builder_.AddChildRow(child, t, row, i);
    std::string inner;
    // The dicts of a list are the rows of its child table: their fields are one level down.
    if (PyDict_Check(item)) {
      NILUS_RETURN_NOT_OK(AddObject(child, child_row, item, inner, 0, depth + 1));
    } else {
      inner = "value";
      NILUS_RETURN_NOT_OK(AddValue(child, child_row, item, inner, 1, depth + 1));
    }
  }
  return Status::OK();
}

std::vector<FlatTable> RowsToTables::Finish() {
  bytes_ = 0;
  return builder_.Finish();
}

namespace {

PyObject* Utf8Object(std::string_view s) {
  return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
}

/// A new reference to the Python value of row `r` of `column`.
PyObject* ToPython(const Column& column, int64_t r) {
  const Types& types = GetTypes();
  if (column.IsNull(r)) Py_RETURN_NONE;
  switch (column.type().id) {
    case TypeId::kBool:
      return PyBool_FromLong(column.Bool(r));
    case TypeId::kBigint:
      return PyLong_FromLongLong(column.Int64(r));
    case TypeId::kDouble:
      return PyFloat_FromDouble(column.Double(r));
    case TypeId::kDecimal: {
      Ref text(Utf8Object(column.View(r)));
      return text.p ? PyObject_CallOneArg(types.decimal, text.p) : nullptr;
    }
    case TypeId::kText: {
      std::string_view s = column.View(r);
      return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
    }
    case TypeId::kBinary: {
      std::string_view s = column.View(r);
      return PyBytes_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
    }
    case TypeId::kJson: {
      Ref text(Utf8Object(column.View(r)));
      return text.p ? PyObject_CallOneArg(types.json_loads, text.p) : nullptr;
    }
    case TypeId::kUuid: {
      std::string_view s = column.View(r);
      Ref args(PyTuple_New(0));
      Ref kwargs(PyDict_New());
      Ref bytes(PyBytes_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size())));
      if (!args.p || !kwargs.p || !bytes.p || PyDict_SetItem(kwargs.p, types.bytes, bytes.p) != 0) return nullptr;
      return PyObject_Call(types.uuid, args.p, kwargs.p);
    }
    case TypeId::kDate: {
      int64_t y;
      unsigned m, d;
      CivilFromDays(column.Int64(r), &y, &m, &d);
      return PyDate_FromDate(static_cast<int>(y), static_cast<int>(m), static_cast<int>(d));
    }
    case TypeId::kTime: {
      int64_t us = column.Int64(r);
      return PyTime_FromTime(static_cast<int>(us / 3600000000LL), static_cast<int>(us / 60000000LL % 60),
                             static_cast<int>(us / 1000000 % 60), static_cast<int>(us % 1000000));
    }
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: {
      int64_t us = column.Int64(r);
      int64_t days = us >= 0 ? us / kMicrosPerDay : -((-us + kMicrosPerDay - 1) / kMicrosPerDay);
      int64_t rest = us - days * kMicrosPerDay;
      int64_t y;
      unsigned m, d;
      CivilFromDays(days, &y, &m, &d);
      PyObject* zone = column.type().id == TypeId::kTimestampTz ? PyDateTime_TimeZone_UTC : Py_None;
      return PyDateTimeAPI->DateTime_FromDateAndTime(
          static_cast<int>(y), static_cast<int>(m), static_cast<int>(d), static_cast<int>(rest / 3600000000LL),
          static_cast<int>(rest / 60000000LL % 60), static_cast<int>(rest / 1000000 % 60),
          static_cast<int>(rest % 1000000), zone, PyDateTimeAPI->DateTimeType);
    }
  }
  Py_RETURN_NONE;
}

}  // namespace

Result<py::list> BatchToPython(const RecordBatch& batch) {
  GetTypes();
  const int64_t rows = batch.num_rows();
  py::list out(rows);
  try {
    for (int64_t r = 0; r < rows; ++r) {
      PyObject* row = PyDict_New();
      if (!row) throw py::error_already_set();
      PyList_SET_ITEM(out.ptr(), r, row);
    }
    for (size_t c = 0; c < batch.num_columns(); ++c) {
      Ref name(PyUnicode_FromStringAndSize(batch.schema().field(c).name.data(),
                                           static_cast<Py_ssize_t>(batch.schema().field(c).name.size())));
      PyUnicode_InternInPlace(&name.p);
      const Column& column = batch.column(c);
      for (int64_t r = 0; r < rows; ++r) {
        Ref value(ToPython(column, r));
        if (!value.p) throw py::error_already_set();
        if (PyDict_SetItem(PyList_GET_ITEM(out.ptr(), r), name.p, value.p) != 0) throw py::error_already_set();
      }
    }
  } catch (py::error_already_set& e) {
    return ErrorStatus(e, "turning rows into Python values");
  }
  return out;
}

}  // namespace nilus::python
