// A JSON string literal: the one escaper of poolkit's JSON output (the pool
// dump, and the tools' reports).
//
//   JsonString("a\"b") == "\"a\\\"b\""
//
// The result is always valid JSON and valid UTF-8, whatever the input: '"'
// and '\\' are escaped, control characters (U+0000-U+001F, and DEL) become
// \b, \f, \n, \r, \t or \u00XX, well-formed UTF-8 passes through unchanged,
// and each byte that is not part of a well-formed UTF-8 sequence (a stray
// continuation byte, a truncated or overlong sequence, a surrogate, a code
// point past U+10FFFF) becomes U+FFFD, as a decoder replaces it. Allocator
// and program names are arbitrary bytes; the output must still parse.
#ifndef POOLKIT_POOL_JSON_STRING_H_
#define POOLKIT_POOL_JSON_STRING_H_

#include <string>
#include <string_view>

#include "arch/cxx17_required.h"

namespace poolkit {

std::string JsonString(std::string_view text);

}  // namespace poolkit

#endif  // POOLKIT_POOL_JSON_STRING_H_
