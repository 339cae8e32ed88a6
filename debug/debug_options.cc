#include "debug/debug_options.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace poolkit {
namespace {

struct OptionDoc {
  const char* name;
  const char* help;
};

constexpr OptionDoc kOptionDocs[] = {
    {"guarded", "one object per mmap, guard pages before and after"},
    {"uaf", "guarded, and every free unmaps at once: use after free faults"},
    {"tag", "objects know their pool: wrong-pool and double frees abort"},
    {"integrity", "free objects hold a pattern, checked when reused"},
    {"caller", "record and report the last alloc/free caller of objects"},
    {"poison[=BYTE]", "fill allocated objects with BYTE (default 0x50)"},
    {"no-cache", "no per-thread caches"},
    {"no-merge", "never merge pools"},
    {"cold-first", "reuse the least recently freed object first"},
    {"fail=PERCENT", "fail this share (0-100) of allocations"},
    {"seed=N", "seed of the failure choice, to replay a run"},
    {"quarantine=N", "released guarded objects kept inaccessible (1024)"},
    {"help", "print this list and exit"},
};

absl::Status BadItem(absl::string_view item, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("POOLKIT_DEBUG: %s '%s'; valid options:\n%s", why, item,
                      DebugOptionsHelp()));
}

bool ParseByte(absl::string_view text, std::uint8_t* out) {
  // Decimal, 0x hex, or one printable character.
  std::uint32_t value = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    if (!absl::SimpleHexAtoi(text.substr(2), &value)) return false;
  } else if (text.size() == 1 && !(text[0] >= '0' && text[0] <= '9')) {
    value = static_cast<unsigned char>(text[0]);
  } else if (!absl::SimpleAtoi(text, &value)) {
    return false;
  }
  if (value > 255) return false;
  *out = static_cast<std::uint8_t>(value);
  return true;
}

}  // namespace

bool operator==(const DebugOptions& a, const DebugOptions& b) {
  return a.guarded == b.guarded && a.uaf == b.uaf && a.tag == b.tag &&
         a.integrity == b.integrity && a.caller == b.caller &&
         a.poison == b.poison && a.poison_byte == b.poison_byte &&
         a.no_cache == b.no_cache && a.no_merge == b.no_merge &&
         a.cold_first == b.cold_first && a.fail_percent == b.fail_percent &&
         a.fail_seed == b.fail_seed && a.quarantine == b.quarantine;
}

absl::StatusOr<DebugOptions> ParseDebugOptions(std::string_view text_in) {
  // Debian's Abseil has its own string_view type (built as C++14).
  absl::string_view text(text_in.data(), text_in.size());
  DebugOptions options;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    absl::string_view name = item;
    absl::string_view value;
    bool has_value = false;
    if (std::size_t eq = item.find('='); eq != absl::string_view::npos) {
      name = item.substr(0, eq);
      value = item.substr(eq + 1);
      has_value = true;
    }
    auto flag = [&](bool* field) -> absl::Status {
      if (has_value) return BadItem(item, "option takes no value:");
      *field = true;
      return absl::OkStatus();
    };
    absl::Status status;
    if (name == "guarded") {
      status = flag(&options.guarded);
    } else if (name == "uaf") {
      status = flag(&options.uaf);
    } else if (name == "tag") {
      status = flag(&options.tag);
    } else if (name == "integrity") {
      status = flag(&options.integrity);
    } else if (name == "caller") {
      status = flag(&options.caller);
    } else if (name == "no-cache") {
      status = flag(&options.no_cache);
    } else if (name == "no-merge") {
      status = flag(&options.no_merge);
    } else if (name == "cold-first") {
      status = flag(&options.cold_first);
    } else if (name == "poison") {
      options.poison = true;
      if (has_value && !ParseByte(value, &options.poison_byte)) {
        return BadItem(item, "poison wants a byte (0-255, 0xNN or a char):");
      }
    } else if (name == "fail") {
      double percent = 0;
      if (!has_value || !absl::SimpleAtod(value, &percent) ||
          !std::isfinite(percent) || percent < 0 || percent > 100) {
        return BadItem(item, "fail wants a percentage from 0 to 100:");
      }
      options.fail_percent = percent;
    } else if (name == "seed") {
      if (!has_value || !absl::SimpleAtoi(value, &options.fail_seed)) {
        return BadItem(item, "seed wants an unsigned integer:");
      }
    } else if (name == "quarantine") {
      if (!has_value || !absl::SimpleAtoi(value, &options.quarantine) ||
          options.quarantine > kMaxQuarantine) {
        return BadItem(
            item, absl::StrFormat("quarantine wants 0 to %d:", kMaxQuarantine));
      }
    } else {
      return BadItem(item, "unknown option");
    }
    if (!status.ok()) return status;
  }
  return options;
}

std::string FormatDebugOptions(const DebugOptions& options) {
  std::vector<std::string> items;
  if (options.guarded) items.push_back("guarded");
  if (options.uaf) items.push_back("uaf");
  if (options.tag) items.push_back("tag");
  if (options.integrity) items.push_back("integrity");
  if (options.caller) items.push_back("caller");
  if (options.poison) {
    items.push_back(absl::StrFormat("poison=0x%02x", options.poison_byte));
  }
  if (options.no_cache) items.push_back("no-cache");
  if (options.no_merge) items.push_back("no-merge");
  if (options.cold_first) items.push_back("cold-first");
  if (options.fail_percent > 0) {
    items.push_back(absl::StrFormat("fail=%g", options.fail_percent));
    items.push_back(absl::StrFormat("seed=%d", options.fail_seed));
  }
  if (options.Guarded() && options.quarantine != DebugOptions().quarantine) {
    items.push_back(absl::StrFormat("quarantine=%d", options.quarantine));
  }
  return absl::StrJoin(items, ",");
}

DebugOptions NormalizeDebugOptions(const DebugOptions& options) {
  DebugOptions out = options;
  const DebugOptions defaults;
  if (out.fail_percent == 0) out.fail_seed = defaults.fail_seed;
  if (!out.poison) out.poison_byte = defaults.poison_byte;
  if (!out.Guarded()) out.quarantine = defaults.quarantine;
  return out;
}

DebugOptions CombineDebugOptions(const DebugOptions& a, const DebugOptions& b) {
  DebugOptions out = a;
  out.guarded |= b.guarded;
  out.uaf |= b.uaf;
  out.tag |= b.tag;
  out.integrity |= b.integrity;
  out.caller |= b.caller;
  if (!a.poison && b.poison) out.poison_byte = b.poison_byte;
  out.poison |= b.poison;
  out.no_cache |= b.no_cache;
  out.no_merge |= b.no_merge;
  out.cold_first |= b.cold_first;
  if (a.fail_percent == 0) out.fail_seed = b.fail_seed;
  out.fail_percent = std::max(a.fail_percent, b.fail_percent);
  out.quarantine = std::max(a.quarantine, b.quarantine);
  return out;
}

std::string DebugOptionsHelp() {
  std::string text;
  for (const OptionDoc& doc : kOptionDocs) {
    absl::StrAppendFormat(&text, "  %-14s %s\n", doc.name, doc.help);
  }
  return text;
}

const DebugOptions& DebugOptionsFromEnv() {
  static const DebugOptions* const options = [] {
    const char* env = std::getenv("POOLKIT_DEBUG");
    absl::string_view text = env != nullptr ? env : "";
    for (absl::string_view item : absl::StrSplit(text, ',')) {
      if (item == "help") {
        std::fprintf(stderr, "POOLKIT_DEBUG: comma-separated options:\n%s",
                     DebugOptionsHelp().c_str());
        std::exit(0);
      }
    }
    absl::StatusOr<DebugOptions> parsed =
        ParseDebugOptions(std::string_view(text.data(), text.size()));
    if (!parsed.ok()) {
      std::fprintf(stderr, "poolkit: %s",
                   std::string(parsed.status().message()).c_str());
      std::exit(2);
    }
    return new DebugOptions(*parsed);
  }();
  return *options;
}

}  // namespace poolkit
