#include "debug/report.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/debugging/symbolize.h"

namespace poolkit::debug {
namespace {

void WriteAll(const char* text, std::size_t length) {
  while (length > 0) {
    ssize_t n = write(STDERR_FILENO, text, length);
    if (n <= 0) return;
    text += n;
    length -= static_cast<std::size_t>(n);
  }
}

std::atomic<FaultObserver> g_observer{nullptr};

}  // namespace

void SetFaultObserverForTesting(FaultObserver observer) {
  g_observer.store(observer, std::memory_order_release);
}

void DescribeCodeAddress(const void* address, char* out, std::size_t size) {
  if (address == nullptr) {
    std::snprintf(out, size, "unknown");
    return;
  }
  // A return address points after the call; the call itself is one byte
  // earlier, which matters when the call is the last one in a function.
  char name[256];
  if (absl::Symbolize(static_cast<const char*>(address) - 1, name,
                      sizeof(name))) {
    std::snprintf(out, size, "%s (%p)", name, address);
  } else {
    std::snprintf(out, size, "%p", address);
  }
}

void ReportFaultAndAbort(const FaultReport& report) {
  // Acquire: pairs with the release in SetFaultObserverForTesting.
  if (FaultObserver observer = g_observer.load(std::memory_order_acquire)) {
    observer(report);
  }
  char text[2048];
  int length = std::snprintf(
      text, sizeof(text), "poolkit: %s in pool '%s': object %p (%zu bytes)\n",
      report.fault, report.pool != nullptr ? report.pool : "?", report.object,
      report.object_size);
  // One line: a label and its value.
  auto append = [&](const char* label, const char* value) {
    if (length < 0 || static_cast<std::size_t>(length) >= sizeof(text)) return;
    int n = std::snprintf(text + length, sizeof(text) - length, "  %s%s\n",
                          label, value);
    if (n > 0) length += n;
  };
  if (report.detail != nullptr) append("", report.detail);
  if (report.tag != nullptr) {
    char caller[320];
    DescribeCodeAddress(report.tag->alloc_caller, caller, sizeof(caller));
    append("last alloc by ", caller);
    DescribeCodeAddress(report.tag->free_caller, caller, sizeof(caller));
    append("last free by ", caller);
  }
  if (length > static_cast<int>(sizeof(text)) - 1) length = sizeof(text) - 1;
  if (length > 0) WriteAll(text, static_cast<std::size_t>(length));
  std::abort();
}

}  // namespace poolkit::debug
