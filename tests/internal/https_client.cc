#include "tests/internal/https_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/internal/e2e.h"

namespace masa::e2e {
namespace {

// curl's own limit per transfer; the process limit is a little longer so curl reports it.
constexpr int kCurlMaxSeconds = 60;

void WritePrivateFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    ADD_FAILURE() << "cannot create " << path;
    return;
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      ADD_FAILURE() << "cannot write " << path;
      break;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
}

std::string ReadAndRemove(const std::string& path) {
  std::string data = Exists(path) ? ReadFileOrEmpty(path) : "";
  std::remove(path.c_str());
  return data;
}

}  // namespace

nlohmann::json HttpAnswer::Json() const { return nlohmann::json::parse(body, nullptr, false); }

bool HttpAnswer::IsProblem() const {
  return absl::StartsWith(content_type, "application/problem+json");
}

std::ostream& operator<<(std::ostream& os, const HttpAnswer& a) {
  os << a.method << " " << a.path << " -> HTTP " << a.status << " (" << a.content_type
     << "), curl exit " << a.curl_exit;
  if (!a.curl_error.empty()) os << ", curl: " << a.curl_error;
  return os << "\n" << (a.body.size() > 2000 ? a.body.substr(0, 2000) + "..." : a.body);
}

HttpsClient::HttpsClient(std::string base_url, std::string ca_file, std::string scratch_dir)
    : base_url_(std::move(base_url)), ca_file_(std::move(ca_file)),
      scratch_(std::move(scratch_dir)) {}

std::string HttpsClient::NextName(const std::string& what) const {
  return absl::StrCat(scratch_, "/", what, "-", counter_.fetch_add(1));
}

std::string HttpsClient::AuthFile(const std::string& name, const std::string& secret) const {
  std::string path = absl::StrCat(scratch_, "/auth-", name, ".curl");
  WritePrivateFile(path, absl::StrCat("header = \"Authorization: Bearer ", secret, "\"\n"));
  return path;
}

HttpAnswer HttpsClient::Call(const std::string& method, const std::string& path,
                             const std::string& auth_file, const std::optional<std::string>& body,
                             const std::string& content_type) const {
  HttpAnswer answer;
  answer.method = method;
  answer.path = path;
  const std::string out = NextName("answer");
  std::vector<std::string> argv = {CURL_CLI,     "-sS",
                                   "--cacert",   ca_file_,
                                   "-X",         method,
                                   "-o",         out,
                                   "-w",         "%{http_code}\n%{content_type}",
                                   "--max-time", std::to_string(kCurlMaxSeconds)};
  if (!auth_file.empty()) {
    argv.push_back("-K");
    argv.push_back(auth_file);
  }
  std::string in;
  if (body) {
    in = NextName("body");
    WritePrivateFile(in, *body);
    argv.push_back("-H");
    argv.push_back("Content-Type: " + content_type);
    argv.push_back("--data-binary");
    argv.push_back("@" + in);
  }
  argv.push_back(base_url_ + path);
  ProcessResult r = RunTool(argv, {.env = {}, .timeout = absl::Seconds(kCurlMaxSeconds + 10)});
  if (!in.empty()) std::remove(in.c_str());
  answer.body = ReadAndRemove(out);
  answer.curl_exit = r.exit_code;
  answer.curl_error = r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, absl::MaxSplits('\n', 1));
  if (lines.empty() || !absl::SimpleAtoi(lines[0], &answer.status)) answer.status = 0;
  if (lines.size() > 1) answer.content_type = lines[1];
  return answer;
}

std::vector<FetchResult> HttpsClient::FetchAll(const std::vector<std::string>& paths,
                                               const std::string& auth_file,
                                               const std::string& out_dir) const {
  std::vector<FetchResult> results;
  if (paths.empty()) return results;
  std::string config;
  for (size_t i = 0; i < paths.size(); ++i) {
    FetchResult r;
    r.path = paths[i];
    r.output_file = absl::StrCat(out_dir, "/fetch-", i);
    absl::StrAppend(&config, "url = \"", base_url_, paths[i], "\"\noutput = \"", r.output_file,
                    "\"\n");
    results.push_back(std::move(r));
  }
  const std::string list = NextName("fetch-list");
  WritePrivateFile(list, config);
  std::vector<std::string> argv = {CURL_CLI,     "-sS",
                                   "--cacert",   ca_file_,
                                   "-w",         "%{http_code}\n",
                                   "--max-time", std::to_string(kCurlMaxSeconds),
                                   "-K",         list};
  if (!auth_file.empty()) {
    argv.push_back("-K");
    argv.push_back(auth_file);
  }
  ProcessResult r = RunTool(argv, {.env = {}, .timeout = absl::Seconds(kCurlMaxSeconds + 60)});
  std::remove(list.c_str());
  std::vector<std::string> codes = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(codes.size(), paths.size()) << r;
  for (size_t i = 0; i < results.size() && i < codes.size(); ++i) {
    if (!absl::SimpleAtoi(codes[i], &results[i].status)) results[i].status = 0;
  }
  return results;
}

}  // namespace masa::e2e
