#include "bench/internal/proc_stats.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace masa::bench {
namespace {

std::string ReadProcFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Calls fn("/proc/PID/task/TID") for every thread of `pid` (none when it is gone).
template <typename Fn>
void ForEachThread(pid_t pid, Fn fn) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') fn(dir + "/" + e->d_name);
  }
  closedir(d);
}

}  // namespace

double ParseThreadStat(const std::string& stat, double clock_ticks, std::string* comm) {
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return -1;
  *comm = stat.substr(open + 1, close - open - 1);
  std::istringstream in(stat.substr(close + 1));
  std::string field;
  double utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  return (utime + stime) / clock_ticks;
}

std::map<std::string, double> ThreadCpuSecondsOf(pid_t pid) {
  std::map<std::string, double> out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  ForEachThread(pid, [&](const std::string& task) {
    std::string comm;
    const double s = ParseThreadStat(ReadProcFile(task + "/stat"), ticks, &comm);
    if (s >= 0) out[comm] += s;
  });
  return out;
}

int64_t ParseIoField(const std::string& io, const std::string& field) {
  // "write_bytes:" also ends "cancelled_write_bytes:"; match at a line start.
  const std::string head = field + ":";
  size_t at = io.rfind("\n" + head);
  if (at != std::string::npos) {
    ++at;
  } else if (io.compare(0, head.size(), head) == 0) {
    at = 0;
  } else {
    return -1;
  }
  return std::strtoll(io.c_str() + at + head.size(), nullptr, 10);
}

int64_t ParseIoWriteBytes(const std::string& io) { return ParseIoField(io, "write_bytes"); }

int64_t ThreadWriteCharsOf(pid_t pid, const std::string& comm) {
  int64_t total = -1;
  ForEachThread(pid, [&](const std::string& task) {
    std::string name = ReadProcFile(task + "/comm");
    if (!name.empty() && name.back() == '\n') name.pop_back();
    if (name != comm) return;
    const int64_t w = ParseIoField(ReadProcFile(task + "/io"), "wchar");
    if (w >= 0) total = (total < 0 ? 0 : total) + w;
  });
  return total;
}

int64_t DiskWriteBytesOf(pid_t pid) {
  return ParseIoWriteBytes(ReadProcFile("/proc/" + std::to_string(pid) + "/io"));
}

int64_t ParseBlockStatWriteBytes(const std::string& stat) {
  // Fields: reads, reads merged, sectors read, ms reading, writes, writes merged, sectors
  // written (the 7th), ... (Documentation/block/stat.rst); a sector here is 512 bytes.
  std::istringstream in(stat);
  int64_t field = -1;
  for (int i = 1; i <= 7; ++i) {
    if (!(in >> field)) return -1;
  }
  return field * 512;
}

int64_t DeviceWriteBytesOf(const std::string& path) {
  struct stat st;
  if (path.empty() || stat(path.c_str(), &st) != 0) return -1;
  const std::string sys = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                          std::to_string(minor(st.st_dev)) + "/stat";
  return ParseBlockStatWriteBytes(ReadProcFile(sys));
}

std::string MappedFileOf(pid_t pid, const std::string& map_file) {
  std::istringstream in(ReadProcFile("/proc/" + std::to_string(pid) + "/maps"));
  for (std::string line; std::getline(in, line);) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (path.size() >= map_file.size() &&
        path.compare(path.size() - map_file.size(), map_file.size(), map_file) == 0) {
      return path;
    }
  }
  return "";
}

MappedRss ParseSmaps(const std::string& smaps, const std::string& map_file) {
  MappedRss m;
  if (smaps.empty()) return m;
  m.rss_kb = 0;
  m.map_rss_kb = 0;
  bool in_map = false;
  std::istringstream in(smaps);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, 4, "Rss:") == 0) {
      const long kb = std::strtol(line.c_str() + 4, nullptr, 10);
      m.rss_kb += kb;
      if (in_map) m.map_rss_kb += kb;
      continue;
    }
    // A mapping's header: "start-end perms offset dev inode [path]". Field lines are
    // "Name:  value"; a header's first token has a '-' and no ':'.
    const size_t space = line.find(' ');
    const std::string first = line.substr(0, space);
    if (first.find('-') == std::string::npos || first.find(':') != std::string::npos) continue;
    const size_t slash = line.find('/');
    std::string path = slash == std::string::npos ? "" : line.substr(slash);
    in_map = path.size() >= map_file.size() &&
             path.compare(path.size() - map_file.size(), map_file.size(), map_file) == 0;
  }
  return m;
}

MappedRss MappedRssOf(pid_t pid, const std::string& map_file) {
  return ParseSmaps(ReadProcFile("/proc/" + std::to_string(pid) + "/smaps"), map_file);
}

}  // namespace masa::bench
