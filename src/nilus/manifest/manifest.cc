#include "nilus/manifest/manifest.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "nilus/core/home.h"
#include "nilus/core/identifiers.h"
#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/normalize/masking.h"

namespace nilus {

namespace {

/// Fields of the platform's manifests that mean nothing on one machine: accepted, ignored.
const std::set<std::string> kPlatformFields = {
    "compute", "resources", "workspace", "stack", "tags", "servicePort", "replicas",  "dataosSecrets", "description",
    "owner",   "layer",     "version",   "title", "envs", "configs",     "runAsUser", "ingress"};

std::string Where(const std::string& path, const YAML::Node& node) {
  const YAML::Mark& m = node.Mark();
  if (m.line < 0) return path;
  return fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1);
}

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdent(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

Result<std::string> Scalar(const YAML::Node& node, const std::string& path, std::string_view what) {
  if (!node.IsScalar()) {
    return Status::InvalidInput("{}: {} must be a single value, not a {}", Where(path, node), what,
                                node.IsMap()        ? "map"
                                : node.IsSequence() ? "list"
                                                    : "null");
  }
  return node.Scalar();
}

Result<RawOption::Map> ReadOptionMap(const std::string& name, const YAML::Node& value, const std::string& path) {
  RawOption::Map map;
  for (const auto& kv : value) {
    NILUS_ASSIGN_OR_RAISE(std::string v, Scalar(kv.second, path, fmt::format("each value of option '{}'", name)));
    map.emplace_back(kv.first.Scalar(), std::move(v));
  }
  return map;
}

/// An option's value: a scalar, a list of scalars, a map of scalars, or a list of such maps.
Result<RawOption> ReadOption(const std::string& name, const YAML::Node& value, const std::string& path) {
  RawOption opt{name, std::string(), Where(path, value)};
  if (value.IsScalar()) {
    opt.value = value.Scalar();
  } else if (value.IsSequence() && value.size() > 0 && value[0].IsMap()) {
    RawOption::MapList maps;
    for (const auto& item : value) {
      if (!item.IsMap()) {
        return Status::InvalidInput("{}: option '{}' mixes maps and values in one list", Where(path, item), name);
      }
      NILUS_ASSIGN_OR_RAISE(RawOption::Map map, ReadOptionMap(name, item, path));
      maps.push_back(std::move(map));
    }
    opt.value = std::move(maps);
  } else if (value.IsSequence()) {
    std::vector<std::string> list;
    for (const auto& item : value) {
      NILUS_ASSIGN_OR_RAISE(std::string s, Scalar(item, path, fmt::format("each item of option '{}'", name)));
      list.push_back(std::move(s));
    }
    opt.value = std::move(list);
  } else if (value.IsMap()) {
    NILUS_ASSIGN_OR_RAISE(opt.value, ReadOptionMap(name, value, path));
  } else {
    return Status::InvalidInput("{}: option '{}' has no value", opt.where, name);
  }
  return opt;
}

/// yaml-cpp keeps one of two equal keys of a map without a word: a manifest that says a thing
/// twice is refused instead, wherever it happens.
Status CheckDuplicateKeys(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (kv.first.IsScalar() && !seen.insert(kv.first.Scalar()).second) {
        return Status::InvalidInput("{}: '{}' is given twice in the same map; keep one", Where(path, kv.first),
                                    kv.first.Scalar());
      }
      NILUS_RETURN_NOT_OK(CheckDuplicateKeys(kv.second, path));
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) NILUS_RETURN_NOT_OK(CheckDuplicateKeys(item, path));
  }
  return Status::OK();
}

/// Reads `source:` or `sink:` of a stackSpec.
Result<EndpointSpec> ReadEndpoint(const YAML::Node& spec, const std::string& key, const std::string& path) {
  YAML::Node node = spec[key];
  if (!node) {
    return Status::InvalidInput("{}: the stackSpec has no '{}:' section; add {}: {{address: …, options: …}}",
                                Where(path, spec), key, key);
  }
  if (!node.IsMap())
    return Status::InvalidInput("{}: '{}' must be a map with address and options", Where(path, node), key);
  EndpointSpec out;
  for (const auto& kv : node) {
    std::string field = kv.first.Scalar();
    if (field != "address" && field != "options") {
      std::string close = ClosestMatch(field, {"address", "options"});
      spdlog::warn("{}: unknown field '{}' in {} is ignored{}", Where(path, kv.first), field, key,
                   close.empty() ? "" : fmt::format("; did you mean '{}'?", close));
    }
  }
  YAML::Node address = node["address"];
  if (!address) {
    return Status::InvalidInput("{}: '{}' has no address; add address: <scheme>://… (e.g. sqlite:///out.db)",
                                Where(path, node), key);
  }
  NILUS_ASSIGN_OR_RAISE(out.address, Scalar(address, path, key + ".address"));
  out.where = Where(path, address);
  if (YAML::Node options = node["options"]) {
    if (!options.IsMap()) return Status::InvalidInput("{}: {}.options must be a map", Where(path, options), key);
    for (const auto& kv : options) {
      NILUS_ASSIGN_OR_RAISE(RawOption opt, ReadOption(kv.first.Scalar(), kv.second, path));
      out.options.push_back(std::move(opt));
    }
  }
  return out;
}

Status CheckStackSpecFields(const YAML::Node& spec, const std::string& path) {
  for (const auto& kv : spec) {
    std::string field = kv.first.Scalar();
    if (field == "source" || field == "sink" || field == "repo") continue;
    if (kPlatformFields.count(field)) {
      spdlog::debug("{}: platform field '{}' is ignored", Where(path, kv.first), field);
      continue;
    }
    std::string close = ClosestMatch(field, {"source", "sink", "repo"});
    spdlog::warn("{}: unknown field '{}' in stackSpec is ignored{}", Where(path, kv.first), field,
                 close.empty() ? "" : fmt::format("; did you mean '{}'?", close));
  }
  return Status::OK();
}

std::string LogLevelOf(const YAML::Node& node) {
  if (YAML::Node level = node["logLevel"]; level && level.IsScalar()) return ToLower(level.Scalar());
  return "";
}

/// The address of a lakehouse depot as the platform writes it: `{TYPE: S3, DESTINATION_BUCKET:
/// s3://bucket/prefix}`. Its credentials come from the environment, as the platform injects them.
Result<std::string> S3DepotAddress(const YAML::Node& depot, const std::string& file, const std::string& name) {
  for (const auto& kv : depot) {
    const std::string key = kv.first.Scalar();
    if (key != "TYPE" && key != "DESTINATION_BUCKET") {
      return Status::InvalidInput(
          "{}: depot '{}': unknown field {}; an S3 depot has TYPE and DESTINATION_BUCKET, and takes its credentials "
          "and endpoint from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT)",
          file, name, key);
    }
  }
  const YAML::Node type = depot["TYPE"], bucket = depot["DESTINATION_BUCKET"];
  if (!type.IsScalar() || ToLower(type.Scalar()) != "s3") {
    return Status::InvalidInput("{}: depot '{}': TYPE {} is not one nilus resolves; it knows TYPE: S3", file, name,
                                type.IsScalar() ? type.Scalar() : "(not a word)");
  }
  if (!bucket || !bucket.IsScalar() || !StartsWith(ToLower(bucket.Scalar()), "s3://")) {
    return Status::InvalidInput("{}: depot '{}': a depot of TYPE S3 needs DESTINATION_BUCKET: s3://bucket/prefix", file,
                                name);
  }
  return bucket.Scalar();
}

/// Resolves `dataos://NAME` through the depot file.
Result<std::string> ResolveDepot(const std::string& address, const std::string& where) {
  if (!StartsWith(ToLower(address), "dataos://")) return address;
  std::string name = address.substr(9);
  if (name.empty() || name.find_first_of(":/?") != std::string::npos) {
    return Status::InvalidInput("{}: a depot address is dataos://NAME, got '{}'", where, address);
  }
  const char* env = std::getenv("NILUS_DEPOTS");
  std::string file = env && *env ? env : NilusHome() + "/depots.yaml";
  if (!std::filesystem::exists(file)) {
    return Status::InvalidInput(
        "{}: depot '{}' cannot be resolved: the depot file {} does not exist; create it with a "
        "line '{}: <address>' or set NILUS_DEPOTS",
        where, name, file, name);
  }
  YAML::Node depots;
  try {
    depots = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    return Status::InvalidInput("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (!depots.IsMap()) return Status::InvalidInput("{}: the depot file must map depot names to addresses", file);
  YAML::Node depot = depots[name];
  if (!depot) {
    std::vector<std::string> known;
    for (const auto& kv : depots) known.push_back(kv.first.Scalar());
    std::string close = ClosestMatch(name, known);
    return Status::InvalidInput("{}: unknown depot '{}'{}; {} defines: {}", where, name,
                                close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close), file,
                                known.empty() ? "nothing" : Join(known, ", "));
  }
  if (depot.IsMap() && depot["address"]) depot = depot["address"];
  if (depot.IsMap() && depot["TYPE"]) return S3DepotAddress(depot, file, name);
  if (!depot.IsScalar()) {
    return Status::InvalidInput(
        "{}: depot '{}' must be an address, {{address: …}} or {{TYPE: S3, DESTINATION_BUCKET: …}}", file, name);
  }
  return depot.Scalar();
}

/// Reads the `repo:` block of a stackSpec: where the code of custom:// connectors comes from.
Result<CodeRepo> ReadRepo(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    return Status::InvalidInput("{}: repo must be a map: {{url: …, syncFlags: [--ref=main], baseDir: …}}",
                                Where(path, node));
  }
  CodeRepo repo;
  repo.where = Where(path, node);
  for (const auto& kv : node) {
    const std::string field = kv.first.Scalar();
    if (field == "url") {
      NILUS_ASSIGN_OR_RAISE(std::string url, Scalar(kv.second, path, "repo.url"));
      NILUS_ASSIGN_OR_RAISE(repo.url, Interpolate(url, Where(path, kv.second)));
      if (auto parsed = Uri::Parse(repo.url); parsed.ok() && !parsed->password().empty()) {
        RegisterSecret(parsed->password());
      }
    } else if (field == "baseDir") {
      NILUS_ASSIGN_OR_RAISE(repo.base_dir, Scalar(kv.second, path, "repo.baseDir"));
    } else if (field == "syncFlags") {
      if (!kv.second.IsSequence()) {
        return Status::InvalidInput("{}: repo.syncFlags must be a list, e.g. [\"--ref=main\"]", Where(path, kv.second));
      }
      for (const auto& flag : kv.second) {
        const std::string f = flag.Scalar();
        if (StartsWith(f, "--ref=")) {
          repo.ref = f.substr(6);
        } else if (StartsWith(f, "--depth") || StartsWith(f, "--period") || StartsWith(f, "--max-failures") ||
                   StartsWith(f, "--timeout")) {
          spdlog::debug("{}: repo.syncFlags: {} has no meaning for nilus, which fetches the repository at each run",
                        Where(path, flag), f);
        } else {
          return Status::InvalidInput("{}: repo.syncFlags: nilus understands --ref=<branch, tag or commit>, not '{}'",
                                      Where(path, flag), f);
        }
      }
    } else if (field == "secretId") {
      spdlog::warn(
          "{}: repo.secretId is not used by nilus: give a private repository's credentials in its url through the "
          "environment (https://{{GIT_USER}}:{{GIT_TOKEN}}@host/repo.git) or through git's own credential helper",
          Where(path, kv.first));
    } else {
      std::string close = ClosestMatch(field, {"url", "syncFlags", "baseDir"});
      return Status::InvalidInput("{}: unknown field '{}' in repo{}; repo has url, syncFlags and baseDir",
                                  Where(path, kv.first), field,
                                  close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close));
    }
  }
  if (repo.url.empty()) {
    return Status::InvalidInput("{}: repo needs url: a git URL, a file:// URL or a local folder", repo.where);
  }
  return repo;
}

Result<Pipeline> PipelineFromStackSpec(const std::string& name, const YAML::Node& spec, const std::string& path,
                                       const ConnectorRegistry& registry) {
  if (!spec.IsMap()) return Status::InvalidInput("{}: stackSpec must be a map with source and sink", Where(path, spec));
  NILUS_RETURN_NOT_OK(CheckStackSpecFields(spec, path));
  NILUS_ASSIGN_OR_RAISE(EndpointSpec source, ReadEndpoint(spec, "source", path));
  NILUS_ASSIGN_OR_RAISE(EndpointSpec sink, ReadEndpoint(spec, "sink", path));
  NILUS_ASSIGN_OR_RAISE(Pipeline p, ResolvePipeline(name, source, sink, registry));
  if (YAML::Node repo = spec["repo"]) {
    NILUS_ASSIGN_OR_RAISE(p.repo, ReadRepo(repo, path));
    if (p.source.scheme() != "custom" && p.destination.scheme() != "custom") {
      return Status::InvalidInput(
          "{}: repo: holds the code of custom:// connectors, and this pipeline has none; "
          "remove it, or address the source or sink as custom://ClassName",
          p.repo->where);
    }
  }
  return p;
}

/// Destination tables and key columns get the names Normalize gives their data
/// (docs/schema-evolution.md, "Identifiers"); a name that changes is warned about.
void NormalizeNames(SinkOptions& sink, bool change_capture) {
  auto split = SplitDestTable(sink.dest_table, "dest-table");
  if (change_capture) {
    std::string normal = NormalizeIdentifier(sink.dest_table);
    if (normal != sink.dest_table) spdlog::warn("dest-table '{}' is stored as '{}'", sink.dest_table, normal);
    sink.dest_table = normal;
  } else if (split.ok()) {
    std::string normal = NormalizeIdentifier(split->first) + "." + NormalizeIdentifier(split->second);
    if (normal != sink.dest_table) {
      spdlog::warn("dest-table '{}' is stored as '{}'", sink.dest_table, normal);
      sink.dest_table = normal;
    }
  }
  for (auto& key : sink.primary_key) key = NormalizeColumnName(key);
}

}  // namespace

Result<std::string> Interpolate(const std::string& text, const std::string& where) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (c == '{' && i + 1 < text.size() && IsIdentStart(text[i + 1])) {
      size_t end = i + 1;
      while (end < text.size() && IsIdent(text[end])) ++end;
      if (end < text.size() && text[end] == '}') {
        std::string var = text.substr(i + 1, end - i - 1);
        const char* value = std::getenv(var.c_str());
        if (!value) {
          return Status::InvalidInput(
              "{}: environment variable {} is not set (referenced as {{{}}}); export it "
              "before running",
              where, var, var);
        }
        out += value;
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

Result<Uri> ResolveAddress(const std::string& as_written, const std::string& where) {
  NILUS_ASSIGN_OR_RAISE(std::string depot_resolved, ResolveDepot(as_written, where));
  NILUS_ASSIGN_OR_RAISE(std::string address, Interpolate(depot_resolved, where));
  auto uri = Uri::Parse(address);
  if (!uri.ok()) return uri.status().WithContext(where);
  return uri;
}

Result<Pipeline> ResolvePipeline(const std::string& name, const EndpointSpec& source, const EndpointSpec& sink,
                                 const ConnectorRegistry& registry) {
  auto resolve_options = [](const std::vector<RawOption>& raw) -> Result<std::vector<RawOption>> {
    std::vector<RawOption> out = raw;
    for (auto& opt : out) {
      if (auto* s = std::get_if<std::string>(&opt.value)) {
        NILUS_ASSIGN_OR_RAISE(*s, Interpolate(*s, opt.where));
        if (IsSecretName(opt.name)) RegisterSecret(*s);
      } else if (auto* list = std::get_if<std::vector<std::string>>(&opt.value)) {
        for (auto& item : *list) {
          NILUS_ASSIGN_OR_RAISE(item, Interpolate(item, opt.where));
        }
      } else if (auto* map = std::get_if<RawOption::Map>(&opt.value)) {
        for (auto& kv : *map) {
          NILUS_ASSIGN_OR_RAISE(kv.second, Interpolate(kv.second, opt.where));
        }
      } else if (auto* maps = std::get_if<RawOption::MapList>(&opt.value)) {
        for (auto& m : *maps) {
          for (auto& kv : m) {
            NILUS_ASSIGN_OR_RAISE(kv.second, Interpolate(kv.second, opt.where));
          }
        }
      }
    }
    return out;
  };
  auto resolve_address = [](const EndpointSpec& e) { return ResolveAddress(e.address, e.where); };

  Pipeline p;
  p.name = name;
  NILUS_ASSIGN_OR_RAISE(p.source, resolve_address(source));
  if (Status st = registry.CheckSource(p.source); !st.ok()) return st.WithContext(source.where);
  NILUS_ASSIGN_OR_RAISE(p.destination, resolve_address(sink));
  if (Status st = registry.CheckDestination(p.destination); !st.ok()) return st.WithContext(sink.where);
  p.destination_as_written = sink.address;
  NILUS_ASSIGN_OR_RAISE(auto source_raw, resolve_options(source.options));
  NILUS_ASSIGN_OR_RAISE(p.source_options, ParseSourceOptions(source_raw));
  // Masking rules are checked now, so `nilus validate` catches them before anything runs.
  NILUS_RETURN_NOT_OK(CheckMaskOptions(p.source_options).WithContext(source.where));
  NILUS_ASSIGN_OR_RAISE(auto sink_raw, resolve_options(sink.options));
  // Change-data-capture options on a source without change capture are refused below, by name.
  const bool cdc = p.source_options.IsChangeCapture() && registry.Traits(p.source).change_capture != nullptr;
  const bool names_tables = registry.Traits(p.source).names_tables;
  NILUS_ASSIGN_OR_RAISE(p.sink_options,
                        ParseSinkOptions(sink_raw, sink.where, p.source_options.primary_key,
                                         registry.Traits(p.source).discovers_primary_key || cdc, cdc, names_tables));
  NormalizeNames(p.sink_options, cdc || (names_tables && p.sink_options.dest_table.find('.') == std::string::npos));
  if (p.name.empty()) p.name = p.sink_options.dest_table;
  NILUS_RETURN_NOT_OK(registry.CheckOptions(p));
  return p;
}

/// Reads `workflow.schedule`: cron, timezone, endOn, concurrencyPolicy.
Result<WorkflowSchedule> ReadSchedule(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    return Status::InvalidInput(
        "{}: workflow.schedule must be a map with cron (and timezone, endOn, concurrencyPolicy)", Where(path, node));
  }
  const std::vector<std::string> fields = {"cron", "timezone", "endOn", "concurrencyPolicy"};
  for (const auto& kv : node) {
    std::string field = kv.first.Scalar();
    if (std::find(fields.begin(), fields.end(), field) != fields.end()) continue;
    std::string close = ClosestMatch(field, fields);
    return Status::InvalidInput("{}: unknown field '{}' in workflow.schedule{}; its fields are {}",
                                Where(path, kv.first), field,
                                close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close), Join(fields, ", "));
  }
  if (!node["cron"]) {
    return Status::InvalidInput("{}: workflow.schedule has no cron; add e.g. cron: '0 * * * *' (every hour)",
                                Where(path, node));
  }
  NILUS_ASSIGN_OR_RAISE(std::string cron, Scalar(node["cron"], path, "schedule.cron"));
  std::string timezone;
  if (node["timezone"]) {
    NILUS_ASSIGN_OR_RAISE(timezone, Scalar(node["timezone"], path, "schedule.timezone"));
  }
  // The expression first, so that each error points at what is wrong.
  if (auto c = CronSchedule::Parse(cron, ""); !c.ok()) return c.status().WithContext(Where(path, node["cron"]));
  auto parsed = CronSchedule::Parse(cron, timezone);
  if (!parsed.ok()) return parsed.status().WithContext(Where(path, node["timezone"]));
  WorkflowSchedule out{std::move(*parsed), std::nullopt, ConcurrencyPolicy::kAllow};
  if (node["endOn"]) {
    NILUS_ASSIGN_OR_RAISE(std::string end_on, Scalar(node["endOn"], path, "schedule.endOn"));
    auto t = ParseRfc3339(end_on);
    if (!t.ok()) return t.status().WithContext(Where(path, node["endOn"]) + ": endOn");
    out.end_on = *t;
  }
  if (node["concurrencyPolicy"]) {
    NILUS_ASSIGN_OR_RAISE(std::string v, Scalar(node["concurrencyPolicy"], path, "schedule.concurrencyPolicy"));
    if (v == "Allow") {
      out.policy = ConcurrencyPolicy::kAllow;
    } else if (v == "Forbid") {
      out.policy = ConcurrencyPolicy::kForbid;
    } else if (v == "Replace") {
      out.policy = ConcurrencyPolicy::kReplace;
    } else {
      return Status::InvalidInput("{}: concurrencyPolicy '{}' is not one of Allow, Forbid, Replace",
                                  Where(path, node["concurrencyPolicy"]), v);
    }
  }
  return out;
}

Result<Manifest> LoadManifest(const std::string& path, const ConnectorRegistry& registry) {
  if (!std::filesystem::exists(path)) return Status::InvalidInput("manifest {} does not exist", path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    return Status::InvalidInput("{}:{}:{}: YAML syntax error: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const YAML::Exception& e) {
    return Status::InvalidInput("{}: cannot read the manifest: {}", path, e.what());
  }
  if (!root.IsMap()) {
    return Status::InvalidInput(
        "{}: a manifest is a map: a workflow (type: workflow), a service (type: service) or a "
        "stackSpec with source: and sink:",
        path);
  }
  Manifest m;
  m.path = path;
  NILUS_RETURN_NOT_OK(CheckDuplicateKeys(root, path));
  try {
    std::string type = root["type"] && root["type"].IsScalar() ? ToLower(root["type"].Scalar()) : "";
    std::string name = root["name"] && root["name"].IsScalar() ? root["name"].Scalar() : "";
    m.name = name.empty() ? std::filesystem::path(path).stem().string() : name;
    if (type == "workflow") {
      m.kind = "workflow";
      YAML::Node wf = root["workflow"];
      if (!wf || !wf["dag"] || !wf["dag"].IsSequence() || wf["dag"].size() == 0) {
        return Status::InvalidInput("{}: a workflow needs workflow.dag: a list of nodes, each with spec.stackSpec",
                                    Where(path, wf ? wf : root));
      }
      if (YAML::Node schedule = wf["schedule"]) {
        NILUS_ASSIGN_OR_RAISE(m.schedule, ReadSchedule(schedule, path));
      }
      std::set<std::string> node_names;
      for (const auto& node : wf["dag"]) {
        std::string node_name = node["name"] && node["name"].IsScalar() ? node["name"].Scalar() : "";
        if (node_name.empty()) return Status::InvalidInput("{}: each dag node needs a name", Where(path, node));
        if (!node_names.insert(node_name).second) {
          return Status::InvalidInput(
              "{}: two dag nodes are named '{}'; node names key the pipelines' state, so each must be unique",
              Where(path, node["name"]), node_name);
        }
        YAML::Node spec = node["spec"];
        if (!spec || !spec["stackSpec"]) {
          return Status::InvalidInput("{}: dag node '{}' has no spec.stackSpec", Where(path, node), node_name);
        }
        if (m.log_level.empty()) m.log_level = LogLevelOf(spec);
        std::string pipeline_name = name.empty() ? node_name : name + "." + node_name;
        NILUS_ASSIGN_OR_RAISE(Pipeline p, PipelineFromStackSpec(pipeline_name, spec["stackSpec"], path, registry));
        m.pipelines.push_back(std::move(p));
      }
    } else if (type == "service") {
      m.kind = "service";
      YAML::Node svc = root["service"];
      if (!svc || !svc["stackSpec"]) {
        return Status::InvalidInput("{}: a service needs service.stackSpec with source and sink", Where(path, root));
      }
      m.log_level = LogLevelOf(svc);
      std::string pipeline_name = name.empty() ? std::filesystem::path(path).stem().string() : name;
      NILUS_ASSIGN_OR_RAISE(Pipeline p, PipelineFromStackSpec(pipeline_name, svc["stackSpec"], path, registry));
      m.pipelines.push_back(std::move(p));
    } else if (type.empty() && (root["source"] || root["sink"])) {
      m.kind = "stackSpec";
      m.log_level = LogLevelOf(root);
      std::string pipeline_name = name.empty() ? std::filesystem::path(path).stem().string() : name;
      NILUS_ASSIGN_OR_RAISE(Pipeline p, PipelineFromStackSpec(pipeline_name, root, path, registry));
      m.pipelines.push_back(std::move(p));
    } else if (!type.empty()) {
      std::string close = ClosestMatch(type, {"workflow", "service"});
      return Status::InvalidInput("{}: type '{}' is not workflow or service{}", Where(path, root["type"]), type,
                                  close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close));
    } else {
      return Status::InvalidInput("{}: the manifest has neither type: workflow / service nor source: and sink:", path);
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidInput("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  return m;
}

}  // namespace nilus
