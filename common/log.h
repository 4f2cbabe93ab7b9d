// Minimal structured logging to standard error. Never pass secrets.
#pragma once

#include <string_view>

namespace masa {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Writes "<time> <level> <message>" as one line; thread-safe.
void Log(LogLevel level, std::string_view message);
// Messages below `level` are dropped. Default kInfo.
void SetLogLevel(LogLevel level);

}  // namespace masa
