// End-to-end load on a real masad over HTTPS: POST /request/ov with 20 serial numbers a
// request, closed-loop at the maximum rate and open-loop at 80 % of the rate still sustained
// in the closed loop's last quarter (the store grows during a run, and masad slows with it;
// vouchers/s by slice of each phase show how much), latency measured from the scheduled
// send time so a slow server cannot hide queueing; then the raw
// PKCS#11 C_Sign rate of the same token in the same run and the ratio (DESIGN.md
// "Performance targets"). Provisions its own state with masactl, starts masad itself, and
// stops by itself (about a minute with the defaults). Not a test: it asserts nothing.
//
//   build/bench/load_bench [--duration 20] [--connections 32] [--rate R] [--workers 2]
//                          [--serials-per-request 20] [--serial-pool 20000] [--keep-state DIR]
//
// The client is one thread on epoll with non-blocking OpenSSL connections and a minimal
// HTTP/1.1 keep-alive writer and reader (Content-Length bodies), so it takes little of the
// CPU that masad needs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/openssl.h"
#include "common/secret.h"
#include "hsm/pkcs11.h"
#include "signer/certificate.h"
#include "tools/state.h"

extern char** environ;

namespace masa::bench {
namespace {

// ---------------------------------------------------------------------------------------
// Small helpers

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "load_bench: %s\n", what.c_str());
  std::exit(1);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double CpuSecondsSelf() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// utime + stime of `pid` from /proc/PID/stat, in seconds; -1 when gone.
double CpuSecondsOf(pid_t pid) {
  std::string stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resident memory of masad. RssFile is mostly the LMDB map (pages of data.mdb touched),
// which grows with the data by design; RssAnon is the heap, the figure that must stay flat.
struct Memory {
  long rss_kb = 0;   // VmRSS
  long hwm_kb = 0;   // VmHWM: the peak resident size since start
  long anon_kb = 0;  // RssAnon
  long file_kb = 0;  // RssFile
};

Memory MemoryOf(pid_t pid) {
  Memory m;
  std::string status = ReadWholeFile("/proc/" + std::to_string(pid) + "/status");
  for (auto [key, out] : {std::pair{"VmRSS:", &m.rss_kb}, std::pair{"VmHWM:", &m.hwm_kb},
                          std::pair{"RssAnon:", &m.anon_kb}, std::pair{"RssFile:", &m.file_kb}}) {
    size_t at = status.find(key);
    if (at != std::string::npos) *out = std::strtol(status.c_str() + at + strlen(key), nullptr, 10);
  }
  return m;
}

// Runs `argv` with stdout and stderr appended to `log`; returns its pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) Die("cannot start " + argv[0] + ": " + strerror(rc));
  return pid;
}

void RunTool(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = Spawn(argv, log);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s", ReadWholeFile(log).c_str());
    Die(argv[0] + " " + argv[1] + " failed (log above: " + log + ")");
  }
}

void PrintOpenSslErrors() {
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    std::fprintf(stderr, "  openssl: %s\n", buf);
  }
}

// A pinned-domain certificate as a customer would paste it: a self-signed EC P-256 CA.
std::string MakePdcPem() {
  UniquePtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) Die("EVP_EC_gen failed");
  absl::Time now = absl::Now();
  auto cert = signer::IssueCertificate("CN=Load Bench Owner CA,O=Load Bench Customer", key.get(),
                                       nullptr, key.get(), nullptr, nullptr, now - absl::Hours(1),
                                       now + absl::Hours(24 * 365), true, 7);
  if (!cert.ok()) Die("PDC: " + std::string(cert.status().message()));
  auto pem = CertificateToPem(cert->get());
  if (!pem.ok()) Die("PDC: " + std::string(pem.status().message()));
  return *pem;
}

std::string JsonEscapePem(const std::string& pem) {
  std::string out;
  for (char c : pem) {
    if (c == '\n') {
      out += "\\n";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Options

struct Options {
  double duration_s = 20;      // each load phase
  double warmup_s = 3;
  int connections = 32;        // closed loop: enough in flight to fill commit groups
  int open_connections = 64;   // open loop: requests beyond this many in flight wait (and count)
  double rate = 0;             // open loop, requests/s; 0: 80 % of the closed-loop maximum
  int serials_per_request = 20;
  int serial_pool = 20000;     // distinct serial numbers assigned and cycled through
  int workers = 2;             // masad [queue] workers, and C_Sign threads
  int worker_nice = 5;         // masad [queue] worker_nice
  int commit_interval_ms = 4;  // masad [store] min_commit_interval_ms
  double sign_s = 4;           // raw C_Sign phase
  std::string keep_state;      // keep the work folder here
};

void Usage() {
  std::printf(
      "usage: load_bench [--duration S] [--warmup S] [--connections N] [--open-connections N]\n"
      "                  [--rate REQ_PER_S] [--serials-per-request N] [--serial-pool N]\n"
      "                  [--workers N] [--worker-nice N] [--commit-interval-ms N] [--sign-seconds S] [--keep-state DIR]\n");
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg == "--help" || arg == "-h") {
      Usage();
      std::exit(0);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Usage();
      Die("missing value for " + arg);
    }
    auto num = [&](double lo, double hi) {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || v < lo || v > hi) {
        Die("bad value for " + arg + ": " + value);
      }
      return v;
    };
    if (arg == "--duration") o.duration_s = num(1, 3600);
    else if (arg == "--warmup") o.warmup_s = num(0, 600);
    else if (arg == "--connections") o.connections = static_cast<int>(num(1, 512));
    else if (arg == "--open-connections") o.open_connections = static_cast<int>(num(1, 512));
    else if (arg == "--rate") o.rate = num(0, 1e6);
    else if (arg == "--serials-per-request") o.serials_per_request = static_cast<int>(num(1, 20));
    else if (arg == "--serial-pool") o.serial_pool = static_cast<int>(num(1, 1e6));
    else if (arg == "--workers") o.workers = static_cast<int>(num(1, 64));
    else if (arg == "--worker-nice") o.worker_nice = static_cast<int>(num(0, 19));
    else if (arg == "--commit-interval-ms") o.commit_interval_ms = static_cast<int>(num(0, 100));
    else if (arg == "--sign-seconds") o.sign_s = num(1, 600);
    else if (arg == "--keep-state") o.keep_state = value;
    else {
      Usage();
      Die("unknown flag " + arg);
    }
  }
  if (o.serial_pool < o.serials_per_request) o.serial_pool = o.serials_per_request;
  return o;
}

// ---------------------------------------------------------------------------------------
// The appliance under test

struct Daemon {
  std::string work;   // our folder
  std::string state;  // the masad state folder inside it
  std::string token;  // the admin bearer token
  pid_t pid = -1;
  uint16_t port = 0;
};

void Provision(const Options& o, Daemon* d) {
  namespace fs = std::filesystem;
  if (!o.keep_state.empty()) {
    d->work = fs::absolute(o.keep_state).string();
    if (fs::exists(d->work)) Die(d->work + " exists; --keep-state wants a new folder");
    fs::create_directories(d->work);
  } else {
    std::string tmpl = (fs::temp_directory_path() / "load_bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
    d->work = tmpl;
  }
  d->state = d->work + "/state";
  const std::string log = d->work + "/setup.log";
  RunTool({MASA_MASACTL, "dev-init", "--state", d->state}, log);
  RunTool({MASA_MASACTL, "org", "create", "--state", d->state, "--name", "bench", "--admin",
           "admin@bench.example", "--token-out", d->work + "/admin.token"},
          log);
  {
    std::ofstream serials(d->work + "/serials.txt");
    char sn[32];
    for (int i = 0; i < o.serial_pool; ++i) {
      std::snprintf(sn, sizeof(sn), "LB-%07d\n", i);
      serials << sn;
    }
  }
  RunTool({MASA_MASACTL, "serials", "assign", "--state", d->state, "--org", "org-bench", "--file",
           d->work + "/serials.txt"},
          log);
  // dev-init's masad.toml has a [store] table (TOML allows a table once) and no [queue].
  std::string toml = ReadWholeFile(d->state + "/masad.toml");
  const size_t store_table = toml.find("[store]\n");
  if (store_table == std::string::npos) Die("masad.toml from dev-init has no [store] table");
  toml.insert(store_table + 8,
              "min_commit_interval_ms = " + std::to_string(o.commit_interval_ms) + "\n");
  // Every load connection comes from 127.0.0.1: one client, as far as the server can tell.
  const size_t server_table = toml.find("[server]\n");
  if (server_table == std::string::npos) Die("masad.toml from dev-init has no [server] table");
  toml.insert(server_table + 9, "max_connections_per_client = 1024\n");
  toml += "\n[queue]\nworkers = " + std::to_string(o.workers) +
          "\nworker_nice = " + std::to_string(o.worker_nice) + "\n";
  std::ofstream(d->state + "/masad.toml", std::ios::trunc) << toml;
  d->token = ReadWholeFile(d->work + "/admin.token");
  while (!d->token.empty() && (d->token.back() == '\n' || d->token.back() == ' ')) {
    d->token.pop_back();
  }
}

void StartDaemon(Daemon* d) {
  const std::string out = d->work + "/masad.log";
  d->pid = Spawn({MASA_MASAD, "--config", d->state + "/masad.toml", "--listen", "127.0.0.1:0",
                  "--metrics-listen", "127.0.0.1:0"},
                 out);
  const std::string prefix = "masad listening on https://127.0.0.1:";
  for (int i = 0; i < 600; ++i) {  // 60 s at most
    std::string text = ReadWholeFile(out);
    size_t at = text.find(prefix);
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      d->port = static_cast<uint16_t>(std::atoi(text.c_str() + at + prefix.size()));
      return;
    }
    int status = 0;
    if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
      std::fprintf(stderr, "%s", text.c_str());
      Die("masad exited during start-up");
    }
    usleep(100 * 1000);
  }
  kill(d->pid, SIGKILL);
  Die("masad did not print its listening line within 60 s");
}

void StopDaemon(Daemon* d) {
  if (d->pid <= 0) return;
  kill(d->pid, SIGTERM);
  for (int i = 0; i < 300; ++i) {  // 30 s to drain
    int status = 0;
    if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
      d->pid = -1;
      return;
    }
    usleep(100 * 1000);
  }
  std::fprintf(stderr, "load_bench: masad did not stop within 30 s; killing it\n");
  kill(d->pid, SIGKILL);
  waitpid(d->pid, nullptr, 0);
  d->pid = -1;
}

// ---------------------------------------------------------------------------------------
// The client

struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;
  bool busy = false;
  int64_t scheduled_ns = 0;  // latency is measured from here
};

struct PhaseResult {
  std::string name;
  double seconds = 0;
  double offered_rate = 0;  // open loop only
  uint64_t requests_ok = 0;  // 200 answers completed inside the window
  uint64_t vouchers = 0;     // serials answered "completed" inside the window
  std::vector<uint64_t> vouchers_by_second;  // the same, by second of the window
  uint64_t serials_failed = 0;
  std::vector<uint32_t> latency_us;  // every answered request, from its scheduled time
  std::map<std::string, uint64_t> errors;
  std::string first_failure;
  double client_cpu = 0, daemon_cpu = 0;  // seconds
  Memory mem_start, mem_end;
  long rss_max_kb = 0, anon_max_kb = 0;

  // Vouchers per second over the last quarter of the window: the rate the daemon still
  // sustains once its store has grown, rather than its rate on a fresh one.
  double SustainedVouchersPerSecond() const {
    const size_t n = std::min(vouchers_by_second.size(), static_cast<size_t>(seconds));
    const size_t quarter = std::max<size_t>(1, n / 4);
    if (n == 0) return 0;
    uint64_t sum = 0;
    for (size_t i = n - quarter; i < n; ++i) sum += vouchers_by_second[i];
    return static_cast<double>(sum) / static_cast<double>(quarter);
  }

  double Percentile(double p) const {
    if (latency_us.empty()) return 0;
    size_t i = static_cast<size_t>(std::ceil(p * latency_us.size()));
    return latency_us[std::min(latency_us.size() - 1, i == 0 ? 0 : i - 1)] / 1000.0;
  }
};

class Client {
 public:
  Client(const Daemon& d, const Options& o) : daemon_(d), options_(o) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr ||
        SSL_CTX_load_verify_locations(ctx_, (d.state + "/tls-ca.pem").c_str(), nullptr) != 1) {
      PrintOpenSslErrors();
      Die("TLS context");
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    BuildRequests();
  }
  ~Client() {
    for (auto& c : conns_) Close(&c);
    close(epoll_);
    SSL_CTX_free(ctx_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Closed loop: `connections` connections, each sending the next request as soon as the
  // answer arrives, for `seconds`.
  PhaseResult Closed(const std::string& name, int connections, double seconds) {
    return Run(name, connections, seconds, 0);
  }
  // Open loop: requests due at start + k / rate for `seconds`, each on an idle connection
  // (of at most `connections`), or waiting for one; latency from the due time.
  PhaseResult Open(const std::string& name, int connections, double seconds, double rate) {
    return Run(name, connections, seconds, rate);
  }

 private:
  void BuildRequests() {
    const std::string pdc = JsonEscapePem(MakePdcPem());
    const int per = options_.serials_per_request;
    const int batches = options_.serial_pool / per;
    char sn[32];
    for (int b = 0; b < batches; ++b) {
      std::string body = "{\"serial_numbers\":[";
      for (int i = 0; i < per; ++i) {
        std::snprintf(sn, sizeof(sn), "%s\"LB-%07d\"", i ? "," : "", b * per + i);
        body += sn;
      }
      body += "],\"pdc\":\"" + pdc + "\"}";
      requests_.push_back("POST /request/ov HTTP/1.1\r\nHost: 127.0.0.1:" +
                          std::to_string(daemon_.port) + "\r\nAuthorization: Bearer " +
                          daemon_.token +
                          "\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body);
    }
  }

  bool Connect(Connection* c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(daemon_.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(c->fd);
      c->fd = -1;
      return false;
    }
    c->ssl = SSL_new(ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {  // blocking: only at set-up and after a failure
      PrintOpenSslErrors();
      Close(c);
      return false;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd, &ev);
    c->in.clear();
    c->busy = false;
    return true;
  }

  void Close(Connection* c) {
    if (c->ssl != nullptr) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);  // also leaves the epoll set
    c->ssl = nullptr;
    c->fd = -1;
    c->busy = false;
    c->in.clear();
  }

  // Writes one whole request. Requests are ~1.5 KB, so a loopback socket takes them at once;
  // the short poll covers the rare full buffer.
  bool Send(Connection* c, int64_t scheduled_ns) {
    if (c->fd < 0 && !Connect(c)) return false;
    const std::string& req = requests_[next_request_++ % requests_.size()];
    for (int tries = 0; tries < 1000; ++tries) {
      int n = SSL_write(c->ssl, req.data(), static_cast<int>(req.size()));
      if (n > 0) {
        c->busy = true;
        c->scheduled_ns = scheduled_ns;
        return true;
      }
      int err = SSL_get_error(c->ssl, n);
      if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) break;
      pollfd p{c->fd, static_cast<short>(err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
      poll(&p, 1, 10);
    }
    Close(c);
    return false;
  }

  // Reads what is there; true when a whole response was taken (then *status, *body).
  // *failed when the connection broke.
  bool Receive(Connection* c, int* status, std::string* body, bool* close_after, bool* failed) {
    char buf[16384];
    *failed = false;
    for (;;) {
      int n = SSL_read(c->ssl, buf, sizeof(buf));
      if (n > 0) {
        c->in.append(buf, n);
        continue;
      }
      int err = SSL_get_error(c->ssl, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
      *failed = true;
      break;
    }
    size_t head_end = c->in.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    std::string head = c->in.substr(0, head_end);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    size_t cl = lower.find("\r\ncontent-length:");
    size_t length = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 17, nullptr, 10);
    if (c->in.size() < head_end + 4 + length) return false;
    *status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    *close_after = lower.find("\r\nconnection: close") != std::string::npos;
    body->assign(c->in, head_end + 4, length);
    c->in.erase(0, head_end + 4 + length);
    *failed = false;
    return true;
  }

  static uint64_t Count(const std::string& haystack, std::string_view needle) {
    uint64_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size())) {
      ++n;
    }
    return n;
  }

  PhaseResult Run(const std::string& name, int connections, double seconds, double rate) {
    PhaseResult r;
    r.name = name;
    r.seconds = seconds;
    r.offered_rate = rate;
    // Connections are made before the clock starts, and kept across phases.
    // A deque keeps the addresses epoll holds stable as it grows.
    if (static_cast<int>(conns_.size()) < connections) conns_.resize(connections);
    for (int i = 0; i < connections; ++i) {
      if (conns_[i].fd < 0 && !Connect(&conns_[i])) Die("cannot connect to masad");
    }
    std::vector<Connection*> idle;
    for (int i = connections - 1; i >= 0; --i) idle.push_back(&conns_[i]);
    std::deque<int64_t> backlog;  // open loop: due, not yet sent

    const int64_t start = NowNs();
    const int64_t end = start + static_cast<int64_t>(seconds * 1e9);
    const int64_t give_up = end + int64_t{30} * 1000000000;
    const int64_t interval = rate > 0 ? static_cast<int64_t>(1e9 / rate) : 0;
    int64_t next_due = start;
    int in_flight = 0;
    const double cpu0 = CpuSecondsSelf(), dcpu0 = CpuSecondsOf(daemon_.pid);
    r.mem_start = MemoryOf(daemon_.pid);
    r.rss_max_kb = r.mem_start.rss_kb;
    r.anon_max_kb = r.mem_start.anon_kb;
    int64_t next_sample = start;

    auto error = [&](const std::string& what) { ++r.errors[what]; };
    auto send = [&](Connection* c, int64_t due) {
      if (Send(c, due)) {
        ++in_flight;
      } else {
        error("connect/write");
        idle.push_back(c);
      }
    };
    if (rate <= 0) {
      while (!idle.empty()) {
        Connection* c = idle.back();
        idle.pop_back();
        send(c, NowNs());
        if (!c->busy) break;  // the server refuses: stop, do not spin
      }
    }

    epoll_event events[64];
    std::string body;
    for (;;) {
      int64_t now = NowNs();
      if (now >= next_sample) {
        Memory m = MemoryOf(daemon_.pid);
        r.rss_max_kb = std::max(r.rss_max_kb, m.rss_kb);
        r.anon_max_kb = std::max(r.anon_max_kb, m.anon_kb);
        next_sample = now + 200 * 1000000;
      }
      if (rate > 0) {
        while (next_due < end && next_due <= now) {
          backlog.push_back(next_due);
          next_due += interval;
        }
        while (!backlog.empty() && !idle.empty()) {
          Connection* c = idle.back();
          idle.pop_back();
          send(c, backlog.front());
          backlog.pop_front();
        }
      }
      const bool sending_done = rate > 0 ? next_due >= end : now >= end;
      if (sending_done && in_flight == 0 && backlog.empty()) break;
      if (now >= give_up) {
        r.errors["no answer in 30 s"] += in_flight + backlog.size();
        for (auto& c : conns_) {
          if (c.busy) Close(&c);
        }
        break;
      }
      int64_t wait_ns = std::min<int64_t>(next_sample - now, 200 * 1000000);
      if (rate > 0 && next_due < end) wait_ns = std::min(wait_ns, next_due - now);
      int timeout_ms = static_cast<int>(std::max<int64_t>(0, (wait_ns + 999999) / 1000000));
      int n = epoll_wait(epoll_, events, 64, timeout_ms);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Connection*>(events[i].data.ptr);
        const bool was_busy = c->busy;
        int status = 0;
        bool close_after = false, failed = false;
        bool got = Receive(c, &status, &body, &close_after, &failed);
        const int64_t done = NowNs();
        if (got && c->busy) {
          c->busy = false;
          --in_flight;
          r.latency_us.push_back(static_cast<uint32_t>((done - c->scheduled_ns) / 1000));
          const bool in_window = done <= end || rate > 0;
          if (status == 200) {
            uint64_t issued = Count(body, "\"status\":\"completed\"");
            uint64_t failed_serials = Count(body, "\"status\":\"failed\"");
            if (in_window) {
              ++r.requests_ok;
              r.vouchers += issued;
              const size_t second = static_cast<size_t>(std::max<int64_t>(0, done - start) / 1000000000);
              if (r.vouchers_by_second.size() <= second) r.vouchers_by_second.resize(second + 1);
              r.vouchers_by_second[second] += issued;
            }
            r.serials_failed += failed_serials;
            if (failed_serials > 0 && r.first_failure.empty()) r.first_failure = body.substr(0, 400);
          } else {
            error("HTTP " + std::to_string(status));
            if (r.first_failure.empty()) r.first_failure = body.substr(0, 400);
          }
        }
        if (failed || close_after) {
          if (c->busy) {
            c->busy = false;
            --in_flight;
            error(failed ? "connection lost" : "closed");
          }
          Close(c);
        }
        if (was_busy && !c->busy) {
          if (rate <= 0 && NowNs() < end) {
            send(c, NowNs());
          } else {
            idle.push_back(c);
          }
        }
      }
    }
    const int64_t stop = NowNs();
    // Closed loop: the rate over the window; open loop: over the time to answer them all.
    if (rate > 0) r.seconds = (stop - start) / 1e9;
    r.client_cpu = CpuSecondsSelf() - cpu0;
    r.daemon_cpu = CpuSecondsOf(daemon_.pid) - dcpu0;
    r.mem_end = MemoryOf(daemon_.pid);
    r.rss_max_kb = std::max(r.rss_max_kb, r.mem_end.rss_kb);
    r.anon_max_kb = std::max(r.anon_max_kb, r.mem_end.anon_kb);
    std::sort(r.latency_us.begin(), r.latency_us.end());
    return r;
  }

  const Daemon& daemon_;
  const Options& options_;
  SSL_CTX* ctx_ = nullptr;
  int epoll_ = -1;
  std::deque<Connection> conns_;
  std::vector<std::string> requests_;
  uint64_t next_request_ = 0;
};

// ---------------------------------------------------------------------------------------
// The raw C_Sign ceiling of the state's token

double RawCSignRate(const std::string& state, int threads, double seconds) {
  tools::StatePaths paths(state);
  auto module = tools::LoadModuleFor(paths);
  if (!module.ok()) Die("PKCS#11 module: " + std::string(module.status().message()));
  auto pin = ReadSecretFile(paths.user_pin());
  if (!pin.ok()) Die("user PIN: " + std::string(pin.status().message()));
  auto token = hsm::Token::Open(*module, tools::kDevTokenLabel, *pin,
                                {.sessions = static_cast<size_t>(threads)});
  if (!token.ok()) Die("token: " + std::string(token.status().message()));
  auto key = (*token)->FindKey(hsm::PrivateKeyUri(tools::kDevTokenLabel, tools::kSigningKeyLabel));
  if (!key.ok()) Die("signing key: " + std::string(key.status().message()));
  const std::string digest(32, '\x5a');
  // A warm-up signature per session (key copies are made on first use).
  for (int i = 0; i < threads; ++i) (void)(*token)->Sign(*key, {hsm::SignMechanism::kEcdsa}, digest);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> total{0}, failures{0};
  std::vector<std::thread> pool;
  const int64_t start = NowNs();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      uint64_t n = 0, bad = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto sig = (*token)->Sign(*key, {hsm::SignMechanism::kEcdsa}, digest);
        sig.ok() ? ++n : ++bad;
      }
      total += n;
      failures += bad;
    });
  }
  usleep(static_cast<useconds_t>(seconds * 1e6));
  stop = true;
  for (auto& t : pool) t.join();
  const double elapsed = (NowNs() - start) / 1e9;
  if (failures > 0) std::fprintf(stderr, "load_bench: %lu C_Sign failures\n",
                                 static_cast<unsigned long>(failures.load()));
  return total / elapsed;
}

// ---------------------------------------------------------------------------------------
// Report

void PrintPhase(const PhaseResult& r, int per_request) {
  const double rps = r.requests_ok / r.seconds;
  std::printf("%-22s %7.1f %8.0f %7.2f %7.2f %8.2f %7zu %6.0f%% %6.0f%%  %5.1f/%5.1f/%5.1f %7.1f\n",
              r.name.c_str(), rps, r.vouchers / r.seconds, r.Percentile(0.50),
              r.Percentile(0.99), r.Percentile(0.999), r.latency_us.size(),
              100 * r.client_cpu / r.seconds, 100 * r.daemon_cpu / r.seconds,
              r.mem_start.anon_kb / 1024.0, r.anon_max_kb / 1024.0, r.mem_end.anon_kb / 1024.0,
              r.mem_end.rss_kb / 1024.0);
  if (r.offered_rate > 0) {
    std::printf("%-22s   offered %.1f requests/s (%.0f vouchers/s)\n", "", r.offered_rate,
                r.offered_rate * per_request);
  }
  // Vouchers/s in consecutive slices of the window: a store that slows as it grows shows here.
  const size_t n = std::min(r.vouchers_by_second.size(), static_cast<size_t>(r.seconds));
  if (n >= 4) {
    const size_t slice = std::max<size_t>(1, n / 10);
    std::string line;
    for (size_t i = 0; i + slice <= n; i += slice) {
      uint64_t sum = 0;
      for (size_t k = i; k < i + slice; ++k) sum += r.vouchers_by_second[k];
      char buf[32];
      std::snprintf(buf, sizeof(buf), " %.1fk", sum / 1000.0 / slice);
      line += buf;
    }
    std::printf("%-22s   vouchers/s by %zu s:%s\n", "", slice, line.c_str());
  }
  for (const auto& [what, n] : r.errors) {
    std::printf("%-22s   errors: %s x %lu\n", "", what.c_str(), static_cast<unsigned long>(n));
  }
  if (r.serials_failed > 0) {
    std::printf("%-22s   serials failed: %lu\n", "", static_cast<unsigned long>(r.serials_failed));
  }
  if (!r.first_failure.empty()) {
    std::printf("%-22s   first failure: %s\n", "", r.first_failure.c_str());
  }
}

std::string ReproduceCommand(int argc, char** argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string cmd = n > 0 ? std::string(self, n) : argv[0];
  for (int i = 1; i < argc; ++i) cmd += std::string(" ") + argv[i];
  return cmd;
}

}  // namespace
}  // namespace masa::bench

int main(int argc, char** argv) {
  using namespace masa::bench;
  signal(SIGPIPE, SIG_IGN);
  Options o = ParseOptions(argc, argv);
  Daemon d;
  std::printf("load_bench: provisioning a state with %d serial numbers...\n", o.serial_pool);
  std::fflush(stdout);
  Provision(o, &d);
  StartDaemon(&d);
  std::printf("load_bench: masad pid %d on https://127.0.0.1:%u, %d workers, state %s\n", d.pid,
              d.port, o.workers, d.state.c_str());
  const Memory idle = MemoryOf(d.pid);
  std::fflush(stdout);

  std::vector<PhaseResult> phases;
  double max_rps = 0;
  {
    Client client(d, o);
    if (o.warmup_s > 0) client.Closed("warm-up", o.connections, o.warmup_s);
    phases.push_back(client.Closed("closed-loop c=" + std::to_string(o.connections),
                                   o.connections, o.duration_s));
    max_rps = phases.back().requests_ok / phases.back().seconds;
    // DESIGN.md's "80 % of the maximum sustained rate": the closed loop's last quarter.
    const double sustained_rps = phases.back().SustainedVouchersPerSecond() / o.serials_per_request;
    const double rate80 = 0.8 * (sustained_rps > 0 ? sustained_rps : max_rps);
    if (rate80 > 0) {
      char name[64];
      std::snprintf(name, sizeof(name), "open-loop 80%% %.1f/s", rate80);  // of sustained
      phases.push_back(client.Open(name, o.open_connections, o.duration_s, rate80));
    }
    if (o.rate > 0) {
      char name[64];
      std::snprintf(name, sizeof(name), "open-loop %.1f/s", o.rate);
      phases.push_back(client.Open(name, o.open_connections, o.duration_s, o.rate));
    }
  }
  const Memory last = MemoryOf(d.pid);
  StopDaemon(&d);

  std::printf("load_bench: masad stopped; raw C_Sign on the same token, %d threads, %.0f s...\n",
              o.workers, o.sign_s);
  std::fflush(stdout);
  const double csign = RawCSignRate(d.state, o.workers, o.sign_s);

  std::printf("\n%-22s %7s %8s %7s %7s %8s %7s %7s %7s  %17s %7s\n", "phase", "req/s",
              "vouch/s", "p50 ms", "p99 ms", "p99.9 ms", "answers", "client", "masad",
              "anon MB 0/max/1", "RSS MB");
  std::printf("%-22s (CPU %% of one core; anon = masad heap at start/peak/end of the phase)\n",
              "");
  for (const auto& p : phases) PrintPhase(p, o.serials_per_request);
  const PhaseResult& max = phases.front();
  const double vps = max.vouchers / max.seconds;
  std::printf("\nraw C_Sign (ECDSA P-256, %d threads): %.0f /s\n", o.workers, csign);
  std::printf("end-to-end / C_Sign: %.3f  (target >= 0.75)\n", csign > 0 ? vps / csign : 0);
  const double sustained = max.SustainedVouchersPerSecond();
  std::printf("sustained (last quarter of the closed loop): %.0f vouchers/s = %.3f of C_Sign\n",
              sustained, csign > 0 ? sustained / csign : 0);
  double p99_80 = phases.size() > 1 ? phases[1].Percentile(0.99) : 0;
  std::printf("p99 at 80%% of the sustained rate: %.2f ms  (target < 25 ms)\n", p99_80);
  long peak_anon = idle.anon_kb;
  for (const auto& p : phases) peak_anon = std::max(peak_anon, p.anon_max_kb);
  std::printf(
      "masad memory: heap (RssAnon) idle %.1f MB, peak %.1f MB, end %.1f MB; RSS idle %.1f MB, "
      "end %.1f MB (of which LMDB/file %.1f MB), VmHWM %.1f MB\n",
      idle.anon_kb / 1024.0, peak_anon / 1024.0, last.anon_kb / 1024.0, idle.rss_kb / 1024.0,
      last.rss_kb / 1024.0, last.file_kb / 1024.0, last.hwm_kb / 1024.0);
  std::printf(
      "\nSUMMARY: %.0f vouchers/s (%.1f req/s x %d serials) = %.2f of C_Sign %.0f/s, "
      "sustained %.0f/s = %.2f; max p50/p99/p99.9 %.1f/%.1f/%.1f ms; at 80%% p99 %.1f ms; "
      "heap %.0f->%.0f MB (peak %.0f)\n",
      vps, max.requests_ok / max.seconds, o.serials_per_request, csign > 0 ? vps / csign : 0,
      csign, sustained, csign > 0 ? sustained / csign : 0, max.Percentile(0.5), max.Percentile(0.99), max.Percentile(0.999), p99_80,
      idle.anon_kb / 1024.0, last.anon_kb / 1024.0, peak_anon / 1024.0);
  std::printf("reproduce: %s\n", ReproduceCommand(argc, argv).c_str());
  if (o.keep_state.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(d.work, ec);
  } else {
    std::printf("state kept in %s (masad log: %s/masad.log)\n", d.work.c_str(), d.work.c_str());
  }
  return 0;
}
