#include "nilus/connectors/custom/custom_connector.h"

#include <cctype>

#include "nilus/connectors/custom/custom_internal.h"

namespace nilus {

namespace py = pybind11;

Status CheckClassName(const Uri& uri) {
  const std::string& name = uri.host();
  bool identifier = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) identifier = identifier && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!identifier || !uri.path().empty()) {
    return Status::InvalidInput(
        "{}: a custom connector is addressed as custom://ClassName[?param=value…], the name of its Python class",
        uri.Masked());
  }
  return Status::OK();
}

py::dict CustomKwargs(const SourceOptions& options) {
  auto or_none = [](const std::string& s) { return s.empty() ? py::object(py::none()) : py::object(py::str(s)); };
  py::dict kwargs;
  kwargs["incremental_key"] = or_none(options.incremental_key);
  kwargs["interval_start"] = or_none(options.interval_start);
  kwargs["interval_end"] = or_none(options.interval_end);
  kwargs["page_size"] = options.page_size;
  return kwargs;
}

Status RegisterCustom(ConnectorRegistry& registry) {
  NILUS_RETURN_NOT_OK(registry.AddSource(
      "custom", OpenPythonSource,
      {.discovers_primary_key = true, .options = {"max-table-nesting", "date-detection"}, .names_tables = true}));
  return registry.AddDestination("custom", OpenPythonDestination,
                                 {.options = {"batch-size", "loader-file-size"}, .holds_state = false});
}

}  // namespace nilus
