#include "bench/internal/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/html.h"

namespace masa::bench {
namespace {

// The latency target of issue 14 (p99 at 80 % of the sustained rate), drawn on the plots.
constexpr double kTargetMs = 25;

void Put(nlohmann::json& j, const char* key, const std::optional<double>& v) {
  if (v && std::isfinite(*v)) j[key] = *v;
}

// A JSON number for a figure that may be NaN or infinite (not JSON): absent instead.
void PutFinite(nlohmann::json& j, const char* key, double v) {
  if (std::isfinite(v)) j[key] = v;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// The smallest 1, 2 or 5 times a power of ten at or above v (v > 0).
double NiceCeil(double v) {
  if (v <= 0) return 1;
  const double decade = std::pow(10, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * decade >= v * (1 - 1e-9)) return m * decade;
  }
  return 10 * decade;
}

std::string TickLabel(double ms) {
  if (ms >= 1000) return Fmt("%.0f s", ms / 1000);
  if (ms >= 1) return Fmt("%.0f", ms);
  return Fmt("%.2g", ms);
}

struct Series {
  const char* name;
  const char* color;
  double p;
};
constexpr Series kSeries[] = {
    {"p50", "#1f77b4", 0.50}, {"p99", "#ff7f0e", 0.99}, {"p99.9", "#d62728", 0.999}};

void SvgOpen(std::ostringstream& s, int w, int h, const std::string& title) {
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" viewBox=\"0 0 " << w << " " << h << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << w / 2 << "\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">"
    << HtmlEscape(title) << "</text>\n";
}

// The series' colours (their lines, or with `curve` one latency curve and their dots) and the
// target line.
void Legend(std::ostringstream& s, int x, int y, bool curve = false) {
  if (curve) {
    s << "<line x1=\"" << x << "\" y1=\"" << y - 4 << "\" x2=\"" << x + 18 << "\" y2=\"" << y - 4
      << "\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"" << x + 22 << "\" y=\"" << y
      << "\">latency</text>\n";
    x += 80;
  }
  for (const Series& series : kSeries) {
    if (curve) {
      s << "<circle cx=\"" << x + 9 << "\" cy=\"" << y - 4 << "\" r=\"3.5\" fill=\"" << series.color
        << "\"/><text x=\"" << x + 22 << "\" y=\"" << y << "\">" << series.name << "</text>\n";
      x += 70;
      continue;
    }
    s << "<line x1=\"" << x << "\" y1=\"" << y - 4 << "\" x2=\"" << x + 18 << "\" y2=\"" << y - 4
      << "\" stroke=\"" << series.color << "\" stroke-width=\"2\"/><text x=\"" << x + 22
      << "\" y=\"" << y << "\">" << series.name << "</text>\n";
    x += 70;
  }
  s << "<line x1=\"" << x << "\" y1=\"" << y - 4 << "\" x2=\"" << x + 18 << "\" y2=\"" << y - 4
    << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/><text x=\"" << x + 22 << "\" y=\"" << y
    << "\">target " << kTargetMs << " ms</text>\n";
}

}  // namespace

nlohmann::json ReportJson(const BenchReport& report) {
  nlohmann::json j = nlohmann::json::object();
  j["command"] = report.command;
  Put(j, "csign_per_s", report.csign_per_s);
  Put(j, "csign_before_per_s", report.csign_before_per_s);
  Put(j, "csign_after_per_s", report.csign_after_per_s);
  Put(j, "csign_cpu_us_per_signature", report.csign_cpu_us_per_signature);
  Put(j, "csign_inside_cpu_us_per_signature", report.csign_inside_cpu_us_per_signature);
  j["slice_seconds"] = report.slice_s;
  if (report.prefill) {
    nlohmann::json p = {{"vouchers", report.prefill->vouchers},
                        {"seconds", report.prefill->seconds}};
    if (report.prefill->seconds > 0) {
      p["vouchers_per_s"] = report.prefill->vouchers / report.prefill->seconds;
    }
    Put(p, "disk_bytes_per_voucher", report.prefill->disk_bytes_per_voucher);
    j["prefill"] = p;
  }
  nlohmann::json phases = nlohmann::json::array();
  for (const PhaseFigures& f : report.phases) {
    nlohmann::json p = nlohmann::json::object();
    p["name"] = f.name;
    p["label"] = f.label;
    p["seconds"] = f.seconds;
    PutFinite(p, "requests_per_s", f.requests_per_s);
    PutFinite(p, "vouchers_per_s", f.vouchers_per_s);
    p["p50_ms"] = f.p50_ms;
    p["p99_ms"] = f.p99_ms;
    p["p999_ms"] = f.p999_ms;
    p["errors"] = f.errors;
    p["shed"] = f.shed;
    Put(p, "disk_bytes_per_voucher", f.disk_bytes_per_voucher);
    Put(p, "device_bytes_per_voucher", f.device_bytes_per_voucher);
    Put(p, "store_bytes_per_voucher", f.store_bytes_per_voucher);
    Put(p, "cpu_us_per_voucher", f.cpu_us_per_voucher);
    Put(p, "cpu_us_per_voucher_outside_signature", f.cpu_us_per_voucher_outside_signature);
    Put(p, "masad_signatures", f.masad_signatures);
    Put(p, "masad_sign_cpu_us_per_signature", f.masad_sign_cpu_us_per_signature);
    Put(p, "cpu_us_per_voucher_outside_masad_signature",
        f.cpu_us_per_voucher_outside_masad_signature);
    Put(p, "outside_over_masad_signature_cpu", f.outside_over_masad_signature_cpu);
    if (!f.masad_cpu_by_thread.empty()) {
      nlohmann::json threads = nlohmann::json::object();
      for (const auto& [name, pct] : f.masad_cpu_by_thread) threads[name] = pct;
      p["masad_cpu_by_thread"] = threads;
    }
    Put(p, "heap_mb_start", f.heap_mb_start);
    Put(p, "heap_mb_end", f.heap_mb_end);
    Put(p, "heap_in_use_mb_start", f.heap_in_use_mb_start);
    Put(p, "heap_in_use_mb_end", f.heap_in_use_mb_end);
    Put(p, "rss_mb_without_map_start", f.rss_mb_without_map_start);
    Put(p, "rss_mb_without_map_end", f.rss_mb_without_map_end);
    nlohmann::json store = nlohmann::json::object();
    Put(store, "commits", f.store.commits);
    Put(store, "batches", f.store.batches);
    Put(store, "commit_p99_ms", f.store.commit_p99_ms);
    Put(store, "commit_max_ms", f.store.commit_max_ms);
    Put(store, "sync_ms_per_commit", f.store.sync_ms_per_commit);
    Put(store, "queue_wait_ms_per_batch", f.store.queue_wait_ms_per_batch);
    Put(store, "map_growths", f.store.map_growths);
    Put(store, "map_growth_ms", f.store.map_growth_ms);
    Put(store, "gate_wait_ms", f.store.gate_wait_ms);
    Put(store, "pages_written", f.store.pages_written);
    if (!store.empty()) p["store"] = store;
    nlohmann::json slices = nlohmann::json::array();
    for (const SliceFigures& s : f.slices) {
      nlohmann::json slice = {
          {"start_s", s.start_s}, {"seconds", s.seconds}, {"vouchers_per_s", s.vouchers_per_s},
          {"p50_ms", s.p50_ms},   {"p99_ms", s.p99_ms},   {"p999_ms", s.p999_ms}};
      Put(slice, "masad_request_p99_ms", s.masad_request_p99_ms);
      Put(slice, "sign_cpu_us", s.sign_cpu_us);
      Put(slice, "commit_max_ms", s.commit_max_ms);
      slices.push_back(slice);
    }
    p["slices"] = slices;
    if (const SliceFigures* worst = WorstSlice(f.slices)) {
      p["worst_slice"] = {{"start_s", worst->start_s}, {"p99_ms", worst->p99_ms}};
    }
    phases.push_back(p);
  }
  j["phases"] = phases;
  nlohmann::json ratios = nlohmann::json::object();
  for (const auto& [name, v] : report.ratios) PutFinite(ratios, name.c_str(), v);
  j["ratios"] = ratios;
  return j;
}

std::string LatencySvg(const PhaseFigures& f) {
  constexpr int kW = 760, kH = 430, kLeft = 60, kRight = 20, kTop = 40, kBottom1 = 280;
  constexpr int kTop2 = 320, kBottom2 = 400;
  const size_t n = std::max(f.latency_by_second.size(), f.vouchers_by_second.size());
  const double seconds = std::max<double>(1, std::max<double>(f.seconds, n));
  double lo = 1e9, hi = kTargetMs;
  for (const LatencyHistogram& h : f.latency_by_second) {
    if (h.count() == 0) continue;
    lo = std::min(lo, h.PercentileMs(0.5));
    hi = std::max(hi, h.PercentileMs(0.999));
  }
  lo = std::pow(10, std::floor(std::log10(std::max(0.01, std::min(lo, kTargetMs)))));
  hi = std::pow(10, std::ceil(std::log10(hi)));
  if (hi <= lo) hi = lo * 10;
  const double plot_w = kW - kLeft - kRight;
  auto x_of = [&](double s) { return kLeft + plot_w * s / seconds; };
  auto y_of = [&](double ms) {
    const double v = std::clamp(ms, lo, hi);
    return kBottom1 -
           (kBottom1 - kTop) * (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  };
  std::ostringstream s;
  SvgOpen(s, kW, kH, f.label + ": latency by second (ms, log scale) and vouchers/s");
  // Log grid: 1, 2, 5 in every decade.
  for (double decade = lo; decade < hi * 1.01; decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = decade * m;
      if (v > hi * 1.0001) break;
      const double y = y_of(v);
      s << "<line x1=\"" << kLeft << "\" y1=\"" << y << "\" x2=\"" << kW - kRight << "\" y2=\"" << y
        << "\" stroke=\"" << (m == 1 ? "#ccc" : "#eee") << "\"/>\n<text x=\"" << kLeft - 4
        << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << TickLabel(v) << "</text>\n";
    }
  }
  const double ty = y_of(kTargetMs);
  s << "<line x1=\"" << kLeft << "\" y1=\"" << ty << "\" x2=\"" << kW - kRight << "\" y2=\"" << ty
    << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n";
  for (const Series& series : kSeries) {
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < f.latency_by_second.size(); ++i) {
      const LatencyHistogram& h = f.latency_by_second[i];
      if (h.count() == 0) {
        pen_down = false;
        continue;
      }
      path += Fmt(pen_down ? " L%.1f" : " M%.1f", x_of(i + 0.5));
      path += Fmt(",%.1f", y_of(h.PercentileMs(series.p)));
      pen_down = true;
    }
    if (!path.empty()) {
      s << "<path d=\"" << path << "\" fill=\"none\" stroke=\"" << series.color
        << "\" stroke-width=\"1.5\"/>\n";
    }
  }
  // Vouchers/s below.
  uint64_t vmax = 1;
  for (uint64_t v : f.vouchers_by_second) vmax = std::max(vmax, v);
  const double vtop = NiceCeil(static_cast<double>(vmax));
  auto vy = [&](double v) { return kBottom2 - (kBottom2 - kTop2) * v / vtop; };
  for (double v : {0.0, vtop / 2, vtop}) {
    s << "<line x1=\"" << kLeft << "\" y1=\"" << vy(v) << "\" x2=\"" << kW - kRight << "\" y2=\""
      << vy(v) << "\" stroke=\"#ddd\"/>\n<text x=\"" << kLeft - 4 << "\" y=\"" << vy(v) + 4
      << "\" text-anchor=\"end\">" << Fmt("%.0f", v) << "</text>\n";
  }
  std::string vpath;
  for (size_t i = 0; i < f.vouchers_by_second.size(); ++i) {
    vpath += Fmt(i ? " L%.1f" : "M%.1f", x_of(i + 0.5));
    vpath += Fmt(",%.1f", vy(static_cast<double>(f.vouchers_by_second[i])));
  }
  if (!vpath.empty()) {
    s << "<path d=\"" << vpath << "\" fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"1.5\"/>\n";
  }
  s << "<text x=\"" << kLeft + 4 << "\" y=\"" << kTop2 - 4 << "\">vouchers/s</text>\n";
  // Time axis.
  const double step = NiceCeil(seconds / 10);
  for (double t = 0; t <= seconds + 1e-9; t += step) {
    s << "<text x=\"" << x_of(t) << "\" y=\"" << kBottom2 + 14 << "\" text-anchor=\"middle\">"
      << Fmt("%.0f", t) << "</text>\n<line x1=\"" << x_of(t) << "\" y1=\"" << kTop << "\" x2=\""
      << x_of(t) << "\" y2=\"" << kBottom2 << "\" stroke=\"#f2f2f2\"/>\n";
  }
  s << "<text x=\"" << kW / 2 << "\" y=\"" << kH - 4
    << "\" text-anchor=\"middle\">seconds into the phase</text>\n";
  Legend(s, kLeft + 10, kTop - 6);
  s << "</svg>\n";
  return s.str();
}

std::string PercentileSvg(const PhaseFigures& f) {
  constexpr int kW = 760, kH = 360, kLeft = 60, kRight = 20, kTop = 40, kBottom = 310;
  const double count = static_cast<double>(f.latency.count());
  // The tail is drawn as far as there are samples for it: 1 - 1/count.
  const double x_max = std::clamp(count > 1 ? std::log10(count) : 1.0, 1.0, 5.0);
  const double y_max = NiceCeil(std::max(kTargetMs, f.latency.PercentileMs(1.0)));
  auto x_of = [&](double x) { return kLeft + (kW - kLeft - kRight) * x / x_max; };
  auto y_of = [&](double ms) { return kBottom - (kBottom - kTop) * std::min(ms, y_max) / y_max; };
  std::ostringstream s;
  SvgOpen(s, kW, kH, f.label + ": latency by percentile (ms)");
  const double y_step = NiceCeil(y_max / 5);
  for (double v = 0; v <= y_max + 1e-9; v += y_step) {
    s << "<line x1=\"" << kLeft << "\" y1=\"" << y_of(v) << "\" x2=\"" << kW - kRight << "\" y2=\""
      << y_of(v) << "\" stroke=\"#ddd\"/>\n<text x=\"" << kLeft - 4 << "\" y=\"" << y_of(v) + 4
      << "\" text-anchor=\"end\">" << TickLabel(v) << "</text>\n";
  }
  const char* names[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"};
  for (int x = 0; x <= static_cast<int>(x_max); ++x) {
    s << "<line x1=\"" << x_of(x) << "\" y1=\"" << kTop << "\" x2=\"" << x_of(x) << "\" y2=\""
      << kBottom << "\" stroke=\"#ddd\"/>\n<text x=\"" << x_of(x) << "\" y=\"" << kBottom + 14
      << "\" text-anchor=\"middle\">" << names[x] << "</text>\n";
  }
  s << "<line x1=\"" << kLeft << "\" y1=\"" << y_of(kTargetMs) << "\" x2=\"" << kW - kRight
    << "\" y2=\"" << y_of(kTargetMs) << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n";
  std::string path;
  for (double x = 0; x <= x_max + 1e-9; x += x_max / 300) {
    const double p = std::min(1.0, 1 - std::pow(10, -x));
    path += Fmt(path.empty() ? "M%.1f" : " L%.1f", x_of(x));
    path += Fmt(",%.1f", y_of(f.latency.PercentileMs(std::max(p, 1e-9))));
  }
  if (count > 0) {
    s << "<path d=\"" << path << "\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n";
  }
  for (const Series& series : kSeries) {
    const double x = -std::log10(1 - series.p);
    if (x > x_max || count == 0) continue;
    const double ms = f.latency.PercentileMs(series.p);
    s << "<circle cx=\"" << x_of(x) << "\" cy=\"" << y_of(ms) << "\" r=\"3.5\" fill=\""
      << series.color << "\"/>\n<text x=\"" << x_of(x) + 6 << "\" y=\"" << y_of(ms) - 6 << "\">"
      << series.name << " " << Fmt("%.1f", ms) << " ms</text>\n";
  }
  s << "<text x=\"" << kW / 2 << "\" y=\"" << kH - 18 << "\" text-anchor=\"middle\">percentile ("
    << static_cast<uint64_t>(count) << " requests; axis -log10(1 - p))</text>\n";
  Legend(s, kLeft + 10, kTop - 6, /*curve=*/true);
  s << "</svg>\n";
  return s.str();
}

std::string ReportHtml(const BenchReport& r) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>load_bench</title>\n"
       "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
       "td:first-child,th:first-child{text-align:left}.bad{color:#c00;font-weight:bold}"
       "</style></head><body>\n<h1>load_bench</h1>\n<p><code>"
    << HtmlEscape(r.command) << "</code></p>\n";
  if (r.csign_per_s) h << "<p>raw C_Sign: " << Fmt("%.0f", *r.csign_per_s) << " signatures/s";
  if (r.csign_cpu_us_per_signature) {
    h << ", " << Fmt("%.1f", *r.csign_cpu_us_per_signature) << " CPU &micro;s per signature";
  }
  if (r.csign_inside_cpu_us_per_signature) {
    h << " (" << Fmt("%.1f", *r.csign_inside_cpu_us_per_signature)
      << " inside C_SignInit and C_Sign)";
  }
  if (r.csign_before_per_s && r.csign_after_per_s) {
    h << "; the mean of " << Fmt("%.0f", *r.csign_before_per_s) << " before the load and "
      << Fmt("%.0f", *r.csign_after_per_s) << " after it";
  }
  if (r.csign_per_s) h << "</p>\n";
  if (r.prefill) {
    h << "<p>prefill: " << r.prefill->vouchers << " vouchers in " << Fmt("%.1f", r.prefill->seconds)
      << " s</p>\n";
  }
  h << "<h2>Ratios</h2>\n<table>";
  for (const auto& [name, v] : r.ratios) {
    h << "<tr><td>" << HtmlEscape(name) << "</td><td>" << Fmt("%.3f", v) << "</td></tr>";
  }
  h << "</table>\n<h2>Phases</h2>\n<table><tr><th>phase</th><th>s</th><th>vouchers/s</th>"
       "<th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>worst "
    << r.slice_s
    << " s p99</th><th>errors</th><th>shed</th><th>store wrote B/voucher</th><th>CPU &micro;s/voucher"
       "</th><th>signature CPU &micro;s (in masad)</th><th>outside signature</th>"
       "<th>outside / signature</th></tr>\n";
  auto opt = [](const std::optional<double>& v, const char* format) {
    return v ? Fmt(format, *v) : std::string("&ndash;");
  };
  for (const PhaseFigures& f : r.phases) {
    const SliceFigures* worst = WorstSlice(f.slices);
    h << "<tr><td>" << HtmlEscape(f.label) << "</td><td>" << Fmt("%.1f", f.seconds) << "</td><td>"
      << Fmt("%.0f", f.vouchers_per_s) << "</td><td>" << Fmt("%.2f", f.p50_ms) << "</td><td"
      << (f.p99_ms >= kTargetMs ? " class=\"bad\"" : "") << ">" << Fmt("%.2f", f.p99_ms)
      << "</td><td>" << Fmt("%.2f", f.p999_ms) << "</td><td>"
      << (worst ? Fmt("%.2f", worst->p99_ms) : "&ndash;") << "</td><td>" << f.errors << "</td><td>"
      << f.shed << "</td><td>" << opt(f.store_bytes_per_voucher, "%.0f") << "</td><td>"
      << opt(f.cpu_us_per_voucher, "%.1f") << "</td><td>"
      << opt(f.masad_sign_cpu_us_per_signature, "%.1f") << "</td><td>"
      << opt(f.cpu_us_per_voucher_outside_masad_signature, "%.1f") << "</td><td>"
      << opt(f.outside_over_masad_signature_cpu, "%.2f") << "</td></tr>\n";
  }
  h << "</table>\n";
  for (const PhaseFigures& f : r.phases) {
    h << "<h2>" << HtmlEscape(f.label) << "</h2>\n" << LatencySvg(f) << PercentileSvg(f);
    if (!f.masad_cpu_by_thread.empty()) {
      h << "<p>masad CPU by thread (% of one core):";
      for (const auto& [name, pct] : f.masad_cpu_by_thread) {
        h << " " << HtmlEscape(name) << " " << Fmt("%.0f", pct) << "%";
      }
      h << "</p>\n";
    }
    h << "<table><tr><th>slice from s</th><th>vouchers/s</th><th>p50 ms</th><th>p99 ms</th>"
         "<th>p99.9 ms</th><th>masad p99 ms</th><th>signature CPU &micro;s</th>"
         "<th>slowest commit ms</th></tr>\n";
    for (const SliceFigures& s : f.slices) {
      h << "<tr><td>" << Fmt("%.0f", s.start_s) << "</td><td>" << Fmt("%.0f", s.vouchers_per_s)
        << "</td><td>" << Fmt("%.2f", s.p50_ms) << "</td><td"
        << (s.p99_ms >= kTargetMs ? " class=\"bad\"" : "") << ">" << Fmt("%.2f", s.p99_ms)
        << "</td><td>" << Fmt("%.2f", s.p999_ms) << "</td><td>"
        << opt(s.masad_request_p99_ms, "%.1f") << "</td><td>" << opt(s.sign_cpu_us, "%.1f")
        << "</td><td>" << opt(s.commit_max_ms, "%.1f") << "</td></tr>\n";
    }
    h << "</table>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

std::string WriteResults(const std::string& dir, const BenchReport& report) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir + ": " + ec.message();
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    return out ? std::string() : "cannot write " + path;
  };
  std::string failed = write("load_bench.json", ReportJson(report).dump(2) + "\n");
  if (failed.empty()) failed = write("load_bench.html", ReportHtml(report));
  for (const PhaseFigures& f : report.phases) {
    if (failed.empty()) failed = write(f.name + "-latency.svg", LatencySvg(f));
    if (failed.empty()) failed = write(f.name + "-percentiles.svg", PercentileSvg(f));
  }
  return failed;
}

}  // namespace masa::bench
