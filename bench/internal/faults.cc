#include "bench/internal/faults.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <utility>
#include <vector>

#include "tools/state.h"

namespace masa::bench {

void FaultSchedule::Start() {
  thread_ = std::thread([this] {
    const int64_t start = NowNs();
    struct Step {
      double at;
      std::string rules;
    };
    const std::string last = tools::kDevTokenLabel + std::string("-") + std::to_string(o_.tokens);
    std::vector<Step> steps;
    if (o_.fail_token_at > 0) steps.push_back({o_.fail_token_at, last + " C_Sign " + o_.fault});
    if (o_.fail_all_at > 0) steps.push_back({o_.fail_all_at, "* C_Sign " + o_.fault});
    if (o_.recover_at > 0) steps.push_back({o_.recover_at, ""});
    std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.at < b.at; });
    for (const Step& step : steps) {
      std::unique_lock<std::mutex> lock(mu_);
      const auto due =
          std::chrono::steady_clock::now() +
          std::chrono::nanoseconds(start + static_cast<int64_t>(step.at * 1e9) - NowNs());
      if (cv_.wait_until(lock, due, [this] { return stop_; })) return;
      Write(step.rules);
    }
  });
}

void FaultSchedule::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Write("");
}

void FaultSchedule::Write(const std::string& rules) {
  const std::string tmp = rules_ + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << rules << (rules.empty() ? "" : "\n");
  std::rename(tmp.c_str(), rules_.c_str());
}

void PrintFaultPhases(const Options& o, const PhaseResult& r) {
  struct Span {
    std::string name;
    double from, to;
  };
  std::vector<std::pair<double, std::string>> marks = {{0, "healthy"}};
  if (o.fail_token_at > 0) {
    marks.push_back({o.fail_token_at, "1 of " + std::to_string(o.tokens) + " tokens failing"});
  }
  if (o.fail_all_at > 0) marks.push_back({o.fail_all_at, "all tokens failing"});
  if (o.recover_at > 0) marks.push_back({o.recover_at, "recovered"});
  std::sort(marks.begin(), marks.end());
  std::vector<Span> spans;
  for (size_t i = 0; i < marks.size(); ++i) {
    double to = i + 1 < marks.size() ? marks[i + 1].first : r.seconds;
    spans.push_back({marks[i].second, marks[i].first, std::min(to, r.seconds)});
  }
  auto sum = [](const std::vector<uint64_t>& v, double from, double to) {
    uint64_t n = 0;
    for (size_t s = static_cast<size_t>(from); s < static_cast<size_t>(to) && s < v.size(); ++s) {
      n += v[s];
    }
    return n;
  };
  std::printf("\nfault schedule (%s, %d tokens, call timeout %d ms, probe every %d ms): by phase\n",
              o.fault.c_str(), o.tokens, o.call_timeout_ms, o.probe_interval_ms);
  std::printf("%-26s %9s %9s %10s %9s\n", "phase", "seconds", "vouch/s", "refused/s", "vs healthy");
  double healthy = 0;
  for (const Span& s : spans) {
    // Whole seconds only; the first second of a phase still carries the previous one.
    const double from = std::ceil(s.from), to = std::floor(s.to);
    if (to <= from) continue;
    const double vps = sum(r.vouchers_by_second, from, to) / (to - from);
    const double eps = sum(r.errors_by_second, from, to) / (to - from);
    if (s.name == "healthy") healthy = vps;
    std::printf("%-26s %4.0f..%-4.0f %9.0f %10.1f %9.2f\n", s.name.c_str(), from, to, vps, eps,
                healthy > 0 ? vps / healthy : 0);
  }
}

}  // namespace masa::bench
