// custom://ClassName as a source: a nilus.CustomSource subclass whose resources yield dicts.

#include <spdlog/spdlog.h>

#include "nilus/connectors/custom/custom_connector.h"
#include "nilus/connectors/custom/custom_internal.h"
#include "nilus/python/rows.h"

namespace nilus {

namespace {

namespace py = pybind11;

/// Bytes of values in one batch of flattened rows, at most (besides `page-size` rows).
constexpr int64_t kBatchBytes = 32 << 20;

/// Reads one resource: advances its iterator, turning what it yields into flattened tables.
class ResourceReader : public BatchReader {
 public:
  ResourceReader(py::object resource, py::object rows, std::string name, const SourceOptions& options,
                 std::stop_token stop)
      : resource_(std::move(resource)),
        rows_(std::move(rows)),
        name_(std::move(name)),
        page_size_(options.page_size),
        converter_(options.max_table_nesting),
        stop_(std::move(stop)) {}

  ~ResourceReader() override {
    py::gil_scoped_acquire gil;
    Close();
    rows_ = py::object();
    resource_ = py::object();
  }

  bool flattens() const override { return true; }

  Result<std::shared_ptr<const RecordBatch>> Next() override {
    return Status::Internal("resource {} yields flattened documents", name_);
  }

  Result<std::optional<std::vector<FlatTable>>> NextFlattened() override {
    py::gil_scoped_acquire gil;
    if (done_) return std::optional<std::vector<FlatTable>>();
    int64_t seen = 0;
    while (converter_.rows() < page_size_ && converter_.bytes() < kBatchBytes) {
      if ((++seen & 1023) == 0 && stop_.stop_requested()) {
        Close();
        return Status::Cancelled("interrupted");
      }
      PyObject* item = PyIter_Next(rows_.ptr());
      if (!item) {
        if (PyErr_Occurred()) {
          py::error_already_set e;
          done_ = true;
          return python::ErrorStatus(e, "resource " + name_);
        }
        done_ = true;
        break;
      }
      Status st = converter_.Add(item, name_);
      Py_DECREF(item);
      if (!st.ok()) {
        done_ = true;
        return st;
      }
    }
    // The state as the resource left it after yielding these rows: what is committed with them.
    try {
      std::string text = python::Runtime().attr("resource_state")(resource_).cast<std::string>();
      state_ = {{"resource_state", nlohmann::json::parse(text)}};
    } catch (py::error_already_set& e) {
      done_ = true;
      return python::ErrorStatus(e, "keeping the state of resource " + name_);
    }
    if (converter_.rows() == 0 && done_) return std::optional<std::vector<FlatTable>>();
    return std::optional<std::vector<FlatTable>>(converter_.Finish());
  }

  nlohmann::json state() const override { return state_; }

 private:
  /// Stops the generator, so its `finally` blocks run now (the GIL held).
  void Close() {
    if (!rows_ || !py::hasattr(rows_, "close")) return;
    try {
      rows_.attr("close")();
    } catch (py::error_already_set& e) {
      spdlog::warn("resource {}: closing its generator raised: {}", name_, e.what());
    }
  }

  py::object resource_, rows_;
  std::string name_;
  int64_t page_size_;
  python::RowsToTables converter_;
  std::stop_token stop_;
  bool done_ = false;
  nlohmann::json state_ = nlohmann::json::object();
};

class PythonSource : public Source {
 public:
  PythonSource(Uri uri, std::stop_token stop) : uri_(std::move(uri)), stop_(std::move(stop)) {}

  ~PythonSource() override {
    if (!instance_ && resources_.empty()) return;  // Python may not even have started
    py::gil_scoped_acquire gil;
    resources_.clear();
    instance_ = py::object();
  }

  Result<std::vector<SourceStream>> Streams(const SourceOptions& options) override {
    NILUS_RETURN_NOT_OK(Open(options));
    std::vector<SourceStream> out;
    py::gil_scoped_acquire gil;
    for (const auto& r : resources_) try {
        SourceStream s;
        s.name = r.attr("name").cast<std::string>();
        py::object disposition = r.attr("write_disposition");
        if (!disposition.is_none()) {
          std::string d = disposition.cast<std::string>();
          s.strategy = d == "append"    ? WriteDisposition::kAppend
                       : d == "replace" ? WriteDisposition::kReplace
                                        : WriteDisposition::kMerge;
        }
        s.primary_key = r.attr("primary_key").cast<std::vector<std::string>>();
        s.own_incremental = handles_incrementality_;
        out.push_back(std::move(s));
      } catch (const py::cast_error& e) {
        return Status::InvalidInput(
            "custom://{}: a resource's table_name, write_disposition or primary_key is not "
            "text: {}",
            uri_.host(), e.what());
      }
    return out;
  }

  Result<std::unique_ptr<BatchReader>> Read(const SourceOptions& options, const ResumePoint& resume) override {
    NILUS_RETURN_NOT_OK(Open(options));
    py::gil_scoped_acquire gil;
    for (const auto& r : resources_) {
      std::string name = r.attr("name").cast<std::string>();
      if (!resume.stream.empty() && name != resume.stream) continue;
      nlohmann::json saved = resume.state.value("resource_state", nlohmann::json::object());
      try {
        py::object rows = python::Runtime().attr("start_resource")(r, saved.dump());
        return std::unique_ptr<BatchReader>(new ResourceReader(r, std::move(rows), name, options, stop_));
      } catch (py::error_already_set& e) {
        return python::ErrorStatus(e, "starting resource " + name);
      }
    }
    return Status::Internal("custom://{} has no resource {}", uri_.host(), resume.stream);
  }

 private:
  /// Finds the class, makes the instance and calls nilus_source, once.
  Status Open(const SourceOptions& options) {
    if (opened_) return Status::OK();
    NILUS_RETURN_NOT_OK(python::Start());
    py::gil_scoped_acquire gil;
    const std::string& name = uri_.host();
    NILUS_ASSIGN_OR_RAISE(py::object cls, python::FindClass(name, "CustomSource"));
    try {
      instance_ = cls();
      handles_incrementality_ = instance_.attr("handles_incrementality")().cast<bool>();
      py::dict kwargs = CustomKwargs(options);
      py::object made = instance_.attr("nilus_source")(uri_.text(), options.table, **kwargs);
      std::string fallback = options.table.empty() ? name : options.table.substr(options.table.rfind('.') + 1);
      py::list resources = python::Runtime().attr("resources")(made, fallback);
      for (const auto& r : resources) resources_.push_back(py::reinterpret_borrow<py::object>(r));
    } catch (py::error_already_set& e) {
      return python::ErrorStatus(e, "custom://" + name + ": nilus_source");
    }
    if (resources_.empty()) return Status::InvalidInput("custom://{}: nilus_source returned no resource", name);
    opened_ = true;
    return Status::OK();
  }

  Uri uri_;
  std::stop_token stop_;
  bool opened_ = false;
  bool handles_incrementality_ = false;
  py::object instance_;
  std::vector<py::object> resources_;
};

}  // namespace

Result<std::unique_ptr<Source>> OpenPythonSource(const Uri& uri, std::stop_token stop) {
  NILUS_RETURN_NOT_OK(CheckClassName(uri));
  return std::unique_ptr<Source>(new PythonSource(uri, std::move(stop)));
}

}  // namespace nilus
