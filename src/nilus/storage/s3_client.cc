#include "nilus/storage/s3_client.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

#include "nilus/core/strings.h"

namespace nilus::s3 {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string AmzDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
  return out;
}

/// The content of the first <tag>…</tag> in `xml` at or after `*from` (moved past it; npos
/// when there is none), as it stands in the XML.
std::string XmlElement(const std::string& xml, const std::string& tag, size_t* from) {
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  size_t start = xml.find(open, *from);
  if (start == std::string::npos) {
    *from = std::string::npos;
    return "";
  }
  start += open.size();
  size_t end = xml.find(close, start);
  if (end == std::string::npos) end = xml.size();
  *from = end;
  return xml.substr(start, end - start);
}

/// The text of the first <tag>…</tag> in `xml`, its entities decoded ("" when none).
std::string XmlText(const std::string& xml, const std::string& tag) {
  size_t from = 0;
  std::string raw = XmlElement(xml, tag, &from), out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out.push_back(raw[i]);
      continue;
    }
    size_t semi = raw.find(';', i);
    std::string entity = raw.substr(i + 1, semi == std::string::npos ? 0 : semi - i - 1);
    if (entity == "amp")
      out.push_back('&');
    else if (entity == "lt")
      out.push_back('<');
    else if (entity == "gt")
      out.push_back('>');
    else if (entity == "quot")
      out.push_back('"');
    else if (entity == "apos")
      out.push_back('\'');
    else if (!entity.empty() && entity[0] == '#') {
      long code = entity.size() > 1 && entity[1] == 'x' ? std::strtol(entity.c_str() + 2, nullptr, 16)
                                                        : std::strtol(entity.c_str() + 1, nullptr, 10);
      if (code < 0x80) out.push_back(static_cast<char>(code));
    } else {
      out += "&" + entity + ";";
    }
    i = semi == std::string::npos ? raw.size() : semi;
  }
  return out;
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

/// One-time libcurl set-up, before any thread makes a handle.
void GlobalInit() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

}  // namespace

/// A request body: bytes in memory or a file, read again from the start on a retry.
struct Client::Body {
  std::string_view bytes;
  std::FILE* file = nullptr;
  int64_t size = 0;
  size_t offset = 0;
  std::string hash;

  static size_t Read(char* out, size_t size, size_t n, void* self) {
    auto* b = static_cast<Body*>(self);
    size_t want = size * n;
    if (b->file) return std::fread(out, 1, want, b->file);
    size_t take = std::min(want, b->bytes.size() - b->offset);
    std::memcpy(out, b->bytes.data() + b->offset, take);
    b->offset += take;
    return take;
  }
  void Rewind() {
    offset = 0;
    if (file) std::rewind(file);
  }
};

Result<Config> Config::FromEnvironment(const std::string& region) {
  Config c;
  c.credentials = {Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"), Env("AWS_SESSION_TOKEN")};
  if (c.credentials.access_key.empty() || c.credentials.secret_key.empty()) {
    return Status::InvalidInput(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
        "credentials) in the environment");
  }
  c.region = !region.empty() ? region : !Env("AWS_REGION").empty() ? Env("AWS_REGION") : Env("AWS_DEFAULT_REGION");
  if (c.region.empty()) c.region = "us-east-1";
  c.endpoint = !Env("AWS_ENDPOINT").empty() ? Env("AWS_ENDPOINT") : Env("AWS_ENDPOINT_URL");
  while (EndsWith(c.endpoint, "/")) c.endpoint.pop_back();
  if (!c.endpoint.empty() && !StartsWith(c.endpoint, "http://") && !StartsWith(c.endpoint, "https://")) {
    return Status::InvalidInput("AWS_ENDPOINT must be http://host[:port] or https://host[:port], got '{}'", c.endpoint);
  }
  return c;
}

Client::Client(Config config, std::string bucket) : config_(std::move(config)), bucket_(std::move(bucket)) {
  GlobalInit();
  curl_ = curl_easy_init();
  if (config_.endpoint.empty()) {
    host_ = bucket_ + ".s3." + config_.region + ".amazonaws.com";
    base_url_ = "https://" + host_;
  } else {
    base_url_ = config_.endpoint;
    host_ = config_.endpoint.substr(config_.endpoint.find("://") + 3);
    if (EndsWith(host_, ":80") && StartsWith(base_url_, "http://")) host_.resize(host_.size() - 3);
    if (EndsWith(host_, ":443") && StartsWith(base_url_, "https://")) host_.resize(host_.size() - 4);
    path_prefix_ = "/" + bucket_;
  }
}

Client::~Client() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<Client::Response> Client::Send(const std::string& method, const std::string& key,
                                      const std::vector<std::pair<std::string, std::string>>& query, Body& body,
                                      const std::string& range) {
  std::lock_guard lock(mutex_);
  CURL* curl = static_cast<CURL*>(curl_);
  const std::string path = path_prefix_ + "/" + key;
  std::string url = base_url_ + UriEncode(path, false);
  for (size_t i = 0; i < query.size(); ++i) {
    url += (i ? "&" : "?") + UriEncode(query[i].first, true) + "=" + UriEncode(query[i].second, true);
  }
  const std::string what = "s3://" + bucket_ + "/" + key;
  Status last;
  for (int attempt = 0; attempt < 6; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << (attempt - 1)));
    body.Rewind();
    const std::string date = AmzDate();
    Request request{method, path, query, {{"host", host_}, {"x-amz-date", date}, {"x-amz-content-sha256", body.hash}}};
    if (!config_.credentials.session_token.empty()) {
      request.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
    }
    const std::string authorization =
        Authorization(config_.credentials, config_.region, "s3", request, date, body.hash);
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : request.headers) {
      if (k != "host") headers = curl_slist_append(headers, (k + ": " + v).c_str());
    }
    headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
    headers = curl_slist_append(headers, "Expect:");
    if (!range.empty()) headers = curl_slist_append(headers, ("Range: " + range).c_str());

    Response response;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled transfer (under 1 KiB/s for a minute) is a failure to retry.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    if (method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, Body::Read);
      curl_easy_setopt(curl, CURLOPT_READDATA, &body);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size));
    } else if (method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      last = Status::Unavailable("cannot reach S3 at {} for {}: {}", base_url_, what, curl_easy_strerror(rc));
      spdlog::debug("{} (attempt {})", last.ToString(), attempt + 1);
      continue;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    curl_off_t length = -1;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    response.content_length = length;
    if (response.status >= 500 || response.status == 429) {
      last = Failure(response, what);
      spdlog::debug("{} (attempt {})", last.ToString(), attempt + 1);
      continue;
    }
    return response;
  }
  return last;
}

Status Client::Failure(const Response& response, const std::string& what) const {
  const std::string code = XmlText(response.body, "Code"), message = XmlText(response.body, "Message");
  const std::string said = code.empty() ? fmt::format("HTTP {}", response.status)
                                        : fmt::format("HTTP {} {}: {}", response.status, code, message);
  if (code == "NoSuchBucket") {
    return Status::InvalidInput("{}: the bucket '{}' does not exist at {} ({}); create it or correct the address", what,
                                bucket_, base_url_, said);
  }
  if (response.status == 401 || response.status == 403) {
    return Status::InvalidInput(
        "{}: S3 refused the request ({}); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the region ({}), and that "
        "the key may read and write the bucket",
        what, said, config_.region);
  }
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    return Status::InvalidInput("{}: {}; set aws_region (or AWS_REGION) to the bucket's region", what, said);
  }
  if (response.status >= 500 || response.status == 429) return Status::Unavailable("{}: {}", what, said);
  return Status::IOError("{}: {}", what, said);
}

Status Client::Put(const std::string& key, std::string_view bytes) {
  Body body{bytes, nullptr, static_cast<int64_t>(bytes.size()), 0, Sha256Hex(bytes)};
  NILUS_ASSIGN_OR_RAISE(Response r, Send("PUT", key, {}, body));
  return r.status / 100 == 2 ? Status::OK() : Failure(r, "s3://" + bucket_ + "/" + key);
}

Status Client::PutFile(const std::string& key, const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) return Status::IOError("cannot read {}: {}", path, std::strerror(errno));
  // The payload's hash is signed: the file is read once for it, once to send it.
  int64_t size = 0;
  std::string hash = Sha256Hex(file.get(), &size);
  Body body{{}, file.get(), size, 0, std::move(hash)};
  NILUS_ASSIGN_OR_RAISE(Response r, Send("PUT", key, {}, body));
  return r.status / 100 == 2 ? Status::OK() : Failure(r, "s3://" + bucket_ + "/" + key);
}

Result<std::string> Client::Get(const std::string& key, int64_t offset, int64_t length) {
  Body body{{}, nullptr, 0, 0, Sha256Hex("")};
  if (length == 0) return std::string();
  const std::string range = length > 0 ? fmt::format("bytes={}-{}", offset, offset + length - 1) : "";
  NILUS_ASSIGN_OR_RAISE(Response r, Send("GET", key, {}, body, range));
  if (r.status == 404 && XmlText(r.body, "Code") != "NoSuchBucket") {
    return Status::NotFound("s3://{}/{} does not exist", bucket_, key);
  }
  if (r.status == 416) return std::string();  // the range starts past the end
  if (r.status / 100 != 2) return Failure(r, "s3://" + bucket_ + "/" + key);
  // A server that ignores the range answers 200 with the whole object.
  if (length > 0 && r.status == 200) {
    r.body = offset >= static_cast<int64_t>(r.body.size()) ? std::string() : r.body.substr(offset, length);
  }
  return std::move(r.body);
}

Result<int64_t> Client::Size(const std::string& key) {
  Body body{{}, nullptr, 0, 0, Sha256Hex("")};
  NILUS_ASSIGN_OR_RAISE(Response r, Send("HEAD", key, {}, body));
  if (r.status == 404) return Status::NotFound("s3://{}/{} does not exist", bucket_, key);
  if (r.status / 100 != 2) return Failure(r, "s3://" + bucket_ + "/" + key);
  if (r.content_length < 0)
    return Status::IOError("s3://{}/{}: the server did not say the object's size", bucket_, key);
  return r.content_length;
}

Result<std::vector<std::string>> Client::List(const std::string& prefix) {
  std::vector<std::string> keys;
  std::string token;
  do {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    Body body{{}, nullptr, 0, 0, Sha256Hex("")};
    // The bucket itself is listed: the key part of its path is empty.
    NILUS_ASSIGN_OR_RAISE(Response r, Send("GET", "", query, body));
    if (r.status / 100 != 2) return Failure(r, "s3://" + bucket_ + "/" + prefix);
    for (size_t at = 0;;) {
      std::string contents = XmlElement(r.body, "Contents", &at);
      if (at == std::string::npos) break;
      keys.push_back(XmlText(contents, "Key"));
    }
    token = XmlText(r.body, "IsTruncated") == "true" ? XmlText(r.body, "NextContinuationToken") : "";
  } while (!token.empty());
  return keys;
}

Status Client::Delete(const std::string& key) {
  Body body{{}, nullptr, 0, 0, Sha256Hex("")};
  NILUS_ASSIGN_OR_RAISE(Response r, Send("DELETE", key, {}, body));
  if (r.status / 100 == 2 || r.status == 404) return Status::OK();
  return Failure(r, "s3://" + bucket_ + "/" + key);
}

}  // namespace nilus::s3
