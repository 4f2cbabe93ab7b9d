#include "bench/internal/metrics_scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

namespace masa::bench {
namespace {

std::optional<double> Delta(const MetricSamples& before, const MetricSamples& after,
                            const std::string& name) {
  std::optional<double> b = Sample(before, name), a = Sample(after, name);
  if (!a) return std::nullopt;
  return *a - b.value_or(0);
}

std::optional<double> Per(std::optional<double> num, std::optional<double> den, double scale) {
  if (!num || !den || *den <= 0) return std::nullopt;
  return *num / *den * scale;
}

std::optional<double> Scaled(std::optional<double> v, double scale) {
  if (!v) return std::nullopt;
  return *v * scale;
}

}  // namespace

MetricSamples ParsePrometheusText(const std::string& text) {
  MetricSamples out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    // The name ends at the first space outside the label braces.
    size_t end = 0;
    bool in_labels = false, in_quotes = false;
    for (; end < line.size(); ++end) {
      const char c = line[end];
      if (in_quotes) {
        if (c == '\\') {
          ++end;
        } else if (c == '"') {
          in_quotes = false;
        }
      } else if (c == '"' && in_labels) {
        in_quotes = true;
      } else if (c == '{') {
        in_labels = true;
      } else if (c == '}') {
        in_labels = false;
      } else if (c == ' ' && !in_labels) {
        break;
      }
    }
    if (end == 0 || end >= line.size()) continue;
    std::istringstream value(line.substr(end + 1));
    std::string v;
    if (!(value >> v)) continue;
    double d;
    if (v == "+Inf") {
      d = std::numeric_limits<double>::infinity();
    } else if (v == "-Inf") {
      d = -std::numeric_limits<double>::infinity();
    } else {
      char* stop = nullptr;
      d = std::strtod(v.c_str(), &stop);
      if (stop == v.c_str() || *stop != '\0') continue;
    }
    out[line.substr(0, end)] = d;
  }
  return out;
}

std::optional<double> Sample(const MetricSamples& samples, const std::string& name) {
  auto it = samples.find(name);
  if (it == samples.end()) return std::nullopt;
  return it->second;
}

std::optional<double> HistogramQuantileBetween(const MetricSamples& before,
                                               const MetricSamples& after, const std::string& name,
                                               double q) {
  const std::string prefix = name + "_bucket{le=\"";
  std::vector<std::pair<double, double>> buckets;  // (upper bound, cumulative count delta)
  for (auto it = after.lower_bound(prefix); it != after.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    const std::string le = it->first.substr(prefix.size(), it->first.size() - prefix.size() - 2);
    const double bound =
        le == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(le.c_str(), nullptr);
    auto b = before.find(it->first);
    buckets.push_back({bound, it->second - (b == before.end() ? 0 : b->second)});
  }
  if (buckets.empty()) return std::nullopt;
  std::sort(buckets.begin(), buckets.end());
  const double total = buckets.back().second;
  if (total <= 0) return std::nullopt;
  const double rank = q * total;
  double lower = 0, below = 0;
  for (const auto& [bound, cumulative] : buckets) {
    if (cumulative >= rank) {
      if (std::isinf(bound)) return lower;  // the highest finite bound
      const double in_bucket = cumulative - below;
      if (in_bucket <= 0) return bound;
      return lower + (bound - lower) * (rank - below) / in_bucket;
    }
    lower = bound;
    below = cumulative;
  }
  return lower;
}

StoreFigures StoreFiguresBetween(const MetricSamples& before, const MetricSamples& after) {
  StoreFigures f;
  f.commits = Delta(before, after, "masa_store_commits_total");
  f.batches = Delta(before, after, "masa_store_commit_batches_total");
  f.commit_p99_ms =
      Scaled(HistogramQuantileBetween(before, after, "masa_store_commit_seconds", 0.99), 1e3);
  // A gauge reset at every scrape: the value at the end is the phase's slowest commit.
  f.commit_max_ms = Scaled(Sample(after, "masa_store_commit_max_seconds"), 1e3);
  f.sync_ms_per_commit =
      Per(Delta(before, after, "masa_store_commit_sync_seconds_total"), f.commits, 1e3);
  f.queue_wait_ms_per_batch =
      Per(Delta(before, after, "masa_store_commit_queue_wait_seconds_total"), f.batches, 1e3);
  f.map_growths = Delta(before, after, "masa_store_map_growths_total");
  f.map_growth_ms = Scaled(Delta(before, after, "masa_store_map_growth_seconds_total"), 1e3);
  f.gate_wait_ms = Scaled(Delta(before, after, "masa_store_gate_wait_seconds_total"), 1e3);
  f.pages_written = Delta(before, after, "masa_store_pages_written_total");
  f.shed = Delta(before, after, "masa_requests_shed_total");
  return f;
}

void SliceMasadFigures(const std::vector<MetricSamples>& edges, std::vector<SliceFigures>* slices) {
  for (size_t k = 0; k < slices->size() && k + 1 < edges.size(); ++k) {
    const MetricSamples &before = edges[k], &after = edges[k + 1];
    SliceFigures& s = (*slices)[k];
    s.masad_request_p99_ms =
        Scaled(HistogramQuantileBetween(before, after, "masa_request_latency_seconds", 0.99), 1e3);
    s.sign_cpu_us = Per(Delta(before, after, "masa_hsm_sign_cpu_seconds_sum"),
                        Delta(before, after, "masa_hsm_sign_cpu_seconds_count"), 1e6);
    s.commit_max_ms = Scaled(Sample(after, "masa_store_commit_max_seconds"), 1e3);
  }
}

std::optional<double> CommitMaxMsOver(const std::vector<MetricSamples>& edges) {
  std::optional<double> max;
  for (size_t k = 1; k < edges.size(); ++k) {
    if (std::optional<double> v = Sample(edges[k], "masa_store_commit_max_seconds")) {
      max = std::max(max.value_or(0), *v * 1e3);
    }
  }
  return max;
}

SignCpuFigures SignCpuBetween(const MetricSamples& before, const MetricSamples& after,
                              double masad_cpu_s, double vouchers) {
  SignCpuFigures f;
  // The summary covers a timed sample of the calls; masa_hsm_sign_calls_total counts them
  // all (a masad without it timed every call).
  const std::optional<double> timed_s = Delta(before, after, "masa_hsm_sign_cpu_seconds_sum");
  const std::optional<double> timed = Delta(before, after, "masa_hsm_sign_cpu_seconds_count");
  f.signatures = Delta(before, after, "masa_hsm_sign_calls_total");
  if (!f.signatures) f.signatures = timed;
  if (!timed_s || !f.signatures) return f;
  f.cpu_us_per_signature = Per(timed_s, timed, 1e6);
  if (f.cpu_us_per_signature && masad_cpu_s >= 0 && vouchers > 0) {
    const double signatures_cpu_s = *f.cpu_us_per_signature / 1e6 * *f.signatures;
    f.cpu_us_per_voucher_outside = (masad_cpu_s - signatures_cpu_s) * 1e6 / vouchers;
    f.outside_over_signature = Per(f.cpu_us_per_voucher_outside, f.cpu_us_per_signature, 1);
  }
  return f;
}

MetricSamples ScrapeMetrics(uint16_t port) {
  if (port == 0) return {};
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[65536];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) response.append(buf, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.compare(0, 12, "HTTP/1.1 200") != 0 || body == std::string::npos) return {};
  return ParsePrometheusText(response.substr(body + 4));
}

}  // namespace masa::bench
