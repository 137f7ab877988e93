// custom://ClassName as a destination: a nilus.CustomDestination subclass whose
// @nilus.destination function receives the rows, batch by batch.

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "nilus/connectors/custom/custom_connector.h"
#include "nilus/connectors/custom/custom_internal.h"
#include "nilus/core/home.h"
#include "nilus/core/identifiers.h"
#include "nilus/python/rows.h"

namespace nilus {

namespace {

namespace py = pybind11;

/// Rows per call of the destination function when neither batch-size nor loader-file-size says.
constexpr int64_t kDefaultBatchRows = 1000;

/// The pipeline's lock for a destination that has none of its own: an flock on a file under
/// $NILUS_HOME/locks, held for the load (released when the process dies, too).
class PipelineLock {
 public:
  static Result<std::unique_ptr<PipelineLock>> Take(const LoadSpec& spec, const std::stop_token& stop) {
    std::string dir = NilusHome() + "/locks";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::string path = dir + "/" + NormalizeIdentifier(spec.pipeline + "__" + spec.state_table) + ".lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("cannot open the pipeline's lock file {}: {}", path, std::strerror(errno));
    auto deadline = std::chrono::steady_clock::now() + spec.lock_timeout;
    bool said = false;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (!said) {
        spdlog::info("waiting for another run of pipeline {} to finish (lock {})", spec.pipeline, path);
        said = true;
      }
      if (stop.stop_requested()) {
        ::close(fd);
        return Status::Cancelled("interrupted while waiting for another run of pipeline {}", spec.pipeline);
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::close(fd);
        return Status::Unavailable("another run of pipeline {} held its lock for longer than {} s", spec.pipeline,
                                   spec.lock_timeout.count());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::unique_ptr<PipelineLock>(new PipelineLock(fd));
  }
  ~PipelineLock() { ::close(fd_); }

 private:
  explicit PipelineLock(int fd) : fd_(fd) {}
  int fd_;
};

/// One load into a Python destination: batches are handed to the function as they come (so
/// memory stays bounded); post_load runs at the commit.
class PythonLoad : public Load {
 public:
  PythonLoad(py::object instance, py::object function, std::string uri, const LoadSpec& spec,
             std::unique_ptr<PipelineLock> lock)
      : instance_(std::move(instance)),
        function_(std::move(function)),
        uri_(std::move(uri)),
        load_id_(spec.load_id),
        batch_rows_(spec.batch_rows > 0  ? spec.batch_rows
                    : spec.file_rows > 0 ? spec.file_rows
                                         : kDefaultBatchRows),
        lock_(std::move(lock)) {}

  ~PythonLoad() override {
    py::gil_scoped_acquire gil;
    tables_.clear();
    function_ = py::object();
    instance_ = py::object();
  }

  const nlohmann::json& prior_state() const override { return empty_; }

  Result<std::vector<Field>> TableColumns(const std::string&, const std::string&) override {
    return std::vector<Field>{};
  }

  Status Write(const TableSpec& table, const RecordBatch& batch) override {
    py::gil_scoped_acquire gil;
    NILUS_ASSIGN_OR_RAISE(Pending * pending, TableOf(table));
    NILUS_ASSIGN_OR_RAISE(py::list rows, python::BatchToPython(batch));
    py::str load_id_column(kLoadIdColumn), load_id(load_id_);
    // The columns the function is told of: those of every batch so far.
    AddColumns(*pending, batch);
    for (const auto& row : rows) {
      if (PyDict_SetItem(row.ptr(), load_id_column.ptr(), load_id.ptr()) != 0 ||
          PyList_Append(pending->rows.ptr(), row.ptr()) != 0) {
        py::error_already_set e;
        return python::ErrorStatus(e, "handing rows to the destination function");
      }
      if (static_cast<int64_t>(py::len(pending->rows)) >= batch_rows_) NILUS_RETURN_NOT_OK(Deliver(*pending));
    }
    return Status::OK();
  }

  Status Truncate(const TableSpec& table, const std::vector<std::string>&) override {
    return Status::InvalidInput(
        "{}: a Python destination cannot truncate a table (a change stream's TRUNCATE); capture into a database or "
        "the lakehouse",
        table.qualified());
  }

  Status Commit(const std::vector<LoadRecord>&, const nlohmann::json&) override {
    py::gil_scoped_acquire gil;
    for (auto& [name, pending] : tables_) {
      if (py::len(pending.rows) > 0) NILUS_RETURN_NOT_OK(Deliver(pending));
    }
    try {
      instance_.attr("post_load")();
    } catch (py::error_already_set& e) {
      return python::ErrorStatus(e, "post_load");
    }
    return Status::OK();
  }

 private:
  /// Rows of one table waiting for the next call, and what the function is told of the table.
  struct Pending {
    py::list rows;
    py::dict table;
    py::dict columns;
  };

  /// Adds the columns of `batch` the table's description lacks.
  static void AddColumns(Pending& pending, const RecordBatch& batch) {
    for (const auto& f : batch.schema().fields()) {
      if (pending.columns.contains(f.name)) continue;
      py::dict column;
      column["name"] = f.name;
      column["data_type"] = f.type.ToString();
      column["nullable"] = true;
      pending.columns[f.name.c_str()] = column;
    }
    if (!pending.columns.contains(kLoadIdColumn)) {
      py::dict column;
      column["name"] = kLoadIdColumn;
      column["data_type"] = "text";
      column["nullable"] = false;
      pending.columns[kLoadIdColumn] = column;
    }
  }

  Result<Pending*> TableOf(const TableSpec& spec) {
    auto it = tables_.find(spec.qualified());
    if (it != tables_.end()) return &it->second;
    Pending pending;
    try {
      py::dict params = instance_.attr("nilus_run_params")(uri_, spec.qualified());
      pending.table["name"] =
          params.contains("table_name") && spec.root.empty() ? params["table_name"] : py::str(spec.name);
      pending.table["schema"] = params.contains("dataset_name") ? params["dataset_name"] : py::str(spec.schema);
    } catch (py::error_already_set& e) {
      return python::ErrorStatus(e, "nilus_run_params");
    } catch (const py::cast_error& e) {
      return Status::InvalidInput("custom destination: nilus_run_params must return a dict: {}", e.what());
    }
    pending.table["columns"] = pending.columns;
    pending.table["write_disposition"] = std::string(spec.rebuild ? "replace" : WriteDispositionName(spec.strategy));
    pending.table["primary_key"] = py::cast(spec.primary_key);
    pending.table["parent"] = spec.root.empty() ? py::object(py::none()) : py::object(py::str(spec.root));
    pending.table["load_id"] = load_id_;
    return &tables_.emplace(spec.qualified(), std::move(pending)).first->second;
  }

  Status Deliver(Pending& pending) {
    py::list rows = pending.rows;
    pending.rows = py::list();
    try {
      function_(rows, pending.table);
    } catch (py::error_already_set& e) {
      return python::ErrorStatus(e, "the destination function");
    }
    return Status::OK();
  }

  py::object instance_, function_;
  std::string uri_, load_id_;
  int64_t batch_rows_;
  std::unique_ptr<PipelineLock> lock_;
  std::map<std::string, Pending> tables_;
  nlohmann::json empty_ = nlohmann::json::object();
};

class PythonDestination : public Destination {
 public:
  PythonDestination(Uri uri, std::stop_token stop) : uri_(std::move(uri)), stop_(std::move(stop)) {}

  Result<std::unique_ptr<Load>> Begin(const LoadSpec& spec) override {
    NILUS_RETURN_NOT_OK(python::Start());
    NILUS_ASSIGN_OR_RAISE(auto lock, PipelineLock::Take(spec, stop_));
    py::gil_scoped_acquire gil;
    const std::string& name = uri_.host();
    NILUS_ASSIGN_OR_RAISE(py::object cls, python::FindClass(name, "CustomDestination"));
    try {
      py::object instance = cls();
      py::object function = instance.attr("nilus_dest")(uri_.text());
      if (!PyCallable_Check(function.ptr())) {
        return Status::InvalidInput("custom://{}: nilus_dest returned a {}, not the @nilus.destination function", name,
                                    Py_TYPE(function.ptr())->tp_name);
      }
      return std::unique_ptr<Load>(new PythonLoad(instance, function, uri_.text(), spec, std::move(lock)));
    } catch (py::error_already_set& e) {
      return python::ErrorStatus(e, "custom://" + name + ": nilus_dest");
    }
  }

  Status ResetState(const std::string&) override { return Status::OK(); }

 private:
  Uri uri_;
  std::stop_token stop_;
};

}  // namespace

Result<std::unique_ptr<Destination>> OpenPythonDestination(const Uri& uri, std::stop_token stop) {
  NILUS_RETURN_NOT_OK(CheckClassName(uri));
  return std::unique_ptr<Destination>(new PythonDestination(uri, std::move(stop)));
}

}  // namespace nilus
