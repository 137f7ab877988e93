#include "nilus/python/code.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "nilus/core/home.h"
#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/python/python.h"

extern char** environ;

namespace nilus::python {

namespace {

namespace fs = std::filesystem;

/// Runs git with `args`, its output (stdout and stderr) in `output`; fails naming what it did.
Status Git(const std::vector<std::string>& args, std::string* output = nullptr) {
  std::vector<std::string> all = {"git"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Never ask for a password on a terminal: credentials come in the URL or a credential helper.
  std::vector<std::string> env_strings = {"GIT_TERMINAL_PROMPT=0"};
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "GIT_TERMINAL_PROMPT=", 20) != 0) env_strings.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::IOError("pipe: {}", std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, "git", &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return Status::FailedPrecondition("cannot run git ({}): install it (apt-get install git)", std::strerror(rc));
  }
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  if (output) *output = Trim(out);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Status::FailedPrecondition("git {} failed: {}", MaskSecrets(Join(args, " ")), MaskSecrets(Trim(out)));
  }
  return Status::OK();
}

std::string ShortHash(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string out;
  for (int i = 0; i < 6; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

/// The repository's name in a URL, for the cache folder: "repo" of https://host/org/repo.git.
std::string RepoName(const std::string& url) {
  std::string name = url;
  while (!name.empty() && (name.back() == '/')) name.pop_back();
  name = name.substr(name.find_last_of("/:") + 1);
  if (EndsWith(name, ".git")) name.resize(name.size() - 4);
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return out.empty() ? "repo" : out;
}

/// Clones (or fetches) `url` into the cache and checks out `ref`; returns the working folder.
Result<std::string> Checkout(const CodeRepo& repo) {
  std::string cache = NilusHome() + "/repos/" + RepoName(repo.url) + "-" + ShortHash(repo.url);
  std::error_code ec;
  fs::create_directories(fs::path(cache).parent_path(), ec);
  // One run at a time updates a checkout; runs of other pipelines wait for it.
  int lock = ::open((cache + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) return Status::IOError("cannot open {}.lock: {}", cache, std::strerror(errno));
  ::flock(lock, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock};

  if (!fs::exists(cache + "/.git")) {
    fs::remove_all(cache, ec);
    spdlog::info("cloning {} into {}", MaskSecrets(repo.url), cache);
    NILUS_RETURN_NOT_OK(Git({"clone", "--quiet", "--no-checkout", repo.url, cache}));
  } else {
    NILUS_RETURN_NOT_OK(Git({"-C", cache, "remote", "set-url", "origin", repo.url}));
    NILUS_RETURN_NOT_OK(Git({"-C", cache, "fetch", "--quiet", "--force", "--tags", "--prune", "origin",
                             "+refs/heads/*:refs/remotes/origin/*"}));
    Status head = Git({"-C", cache, "remote", "set-head", "origin", "--auto"});
    if (!head.ok()) spdlog::debug("{}", head.message());
  }
  std::string commit;
  std::vector<std::string> candidates =
      repo.ref.empty() ? std::vector<std::string>{"origin/HEAD"}
                       : std::vector<std::string>{"origin/" + repo.ref, "refs/tags/" + repo.ref, repo.ref};
  for (const auto& c : candidates) {
    if (Git({"-C", cache, "rev-parse", "--verify", "--quiet", c + "^{commit}"}, &commit).ok()) break;
    commit.clear();
  }
  if (commit.empty()) {
    return Status::InvalidInput("{}: repo {} has no branch, tag or commit '{}' (syncFlags --ref)", repo.where,
                                MaskSecrets(repo.url), repo.ref);
  }
  NILUS_RETURN_NOT_OK(Git({"-C", cache, "checkout", "--quiet", "--force", "--detach", commit}));
  NILUS_RETURN_NOT_OK(Git({"-C", cache, "clean", "--quiet", "-d", "--force", "-x"}));
  spdlog::info("connector code: {} at {} ({})", MaskSecrets(repo.url),
               repo.ref.empty() ? "its default branch" : repo.ref, commit.substr(0, 12));
  return cache;
}

}  // namespace

Status UseRepo(const CodeRepo& repo, const std::stop_token& stop) {
  if (stop.stop_requested()) return Status::Cancelled("interrupted");
  std::string root;
  std::error_code ec;
  const bool local_folder = repo.url.find("://") == std::string::npos && fs::is_directory(repo.url, ec);
  if (local_folder && repo.ref.empty()) {
    root = repo.url;
  } else if (!local_folder && repo.url.find("://") == std::string::npos && repo.url.find('@') == std::string::npos) {
    return Status::InvalidInput("{}: repo url {} is neither a folder nor a git URL", repo.where, repo.url);
  } else {
    NILUS_ASSIGN_OR_RAISE(root, Checkout(repo));
  }
  std::string base = repo.base_dir.empty() ? root : root + "/" + repo.base_dir;
  if (!fs::is_directory(base, ec)) {
    return Status::InvalidInput("{}: repo baseDir '{}' is not a folder of {}", repo.where, repo.base_dir,
                                MaskSecrets(repo.url));
  }
  if (fs::exists(base + "/requirements.txt", ec)) {
    spdlog::info(
        "{}/requirements.txt is not installed by nilus: install the packages into a virtualenv and run nilus with "
        "VIRTUAL_ENV set to it",
        repo.base_dir.empty() ? "the repository" : repo.base_dir);
  }
  NILUS_RETURN_NOT_OK(AddImportRoot(root));
  return AddCodeDir(base);
}

}  // namespace nilus::python
