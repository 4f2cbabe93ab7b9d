// What the kernel says about masad during a phase (/proc/PID/...): CPU time by thread name,
// bytes written to disk, and memory with the LMDB map told apart. Read before and after a
// phase; the differences are the phase's figures. Linux only, same user as masad.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace masa::bench {

// utime + stime in seconds of every thread of `pid` still alive, summed by thread name
// (comm: "masa-signer", "masa-store", "masa-api", "masad", ...). Threads that ended are in
// the process total (CpuSecondsOf) but not here. Empty when the process is gone.
std::map<std::string, double> ThreadCpuSecondsOf(pid_t pid);

// write_bytes of /proc/PID/io: bytes the process caused to be sent to the storage layer
// (counted when it dirties page-cache pages of a file or writes directly, so LMDB's pwrite
// and its meta page writes count, whoever writes them back later). -1 when unreadable.
int64_t DiskWriteBytesOf(pid_t pid);

// wchar of /proc/PID/task/TID/io summed over the threads named `comm`: the bytes those
// threads handed to write(2), pwrite(2) and writev(2). For "masa-store", the only thread
// that writes the store, that is the LMDB pages (4 KB each) and meta pages each commit
// writes: the store's own figure, which neither the folio accounting of write_bytes nor
// other processes' writes to the device change. -1 when no such thread is readable.
int64_t ThreadWriteCharsOf(pid_t pid, const std::string& comm);

// Bytes written to the block device that holds `path` since boot (/sys/dev/block/MAJ:MIN/stat,
// sectors written x 512): what reached the device, journal included, from every process on
// the machine. write_bytes above counts whole page-cache folios dirtied, which on kernels
// with large folios (ext4 on Linux 6.x) is several times what LMDB's 4 KB page writes send to
// the device; this is the figure that does not depend on that. -1 when unreadable.
int64_t DeviceWriteBytesOf(const std::string& path);

// The path of the first file mapped by `pid` whose name ends in `map_file` ("" if none).
std::string MappedFileOf(pid_t pid, const std::string& map_file = "/data.mdb");

// The resident size of the process from /proc/PID/smaps, and the part of it that is a
// mapping of a file whose name ends in `map_file` (LMDB's data.mdb). -1 when unreadable.
struct MappedRss {
  long rss_kb = -1;
  long map_rss_kb = -1;
  long rss_without_map_kb() const { return rss_kb < 0 ? -1 : rss_kb - map_rss_kb; }
};
MappedRss MappedRssOf(pid_t pid, const std::string& map_file = "/data.mdb");

// Parsers of the file texts, for the unit test.
// utime + stime in seconds of one /proc/PID/task/TID/stat text, and its thread name in
// *comm; -1 when the text is not one.
double ParseThreadStat(const std::string& stat, double clock_ticks, std::string* comm);
int64_t ParseIoWriteBytes(const std::string& io);
// The value of the line "`field`: N" of a /proc/.../io text; -1 when there is none.
int64_t ParseIoField(const std::string& io, const std::string& field);
// Sectors written x 512 of one /sys/block/.../stat text; -1 when the text is not one.
int64_t ParseBlockStatWriteBytes(const std::string& stat);
MappedRss ParseSmaps(const std::string& smaps, const std::string& map_file);

}  // namespace masa::bench
