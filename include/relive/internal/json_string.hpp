// relive/internal/json_string.hpp — writing a string as a JSON string literal, for the parts
// and commands that print JSON lines by hand (config's compact form, `relive watch --json`)
// without pulling a JSON library into their headers or their hot paths. Not part of the
// API: only relive's own parts, command and tests include this (it may change any time).
//
// Example:
//   std::string line = "{\"path\":" + relive::internal::json_string(path) + "}";
//   // path `a"b\n` gives {"path":"a\"b\n"}
#pragma once

#include <string>
#include <string_view>

namespace relive::internal {

// Appends `text` to `out` as a JSON string: in double quotes, with '"' and '\' escaped,
// \n \t \r as such, other control characters (below 0x20) as \u00XX. Every other byte,
// UTF-8 included, is copied unchanged (the input is not validated). Pure, any thread.
void append_json_string(std::string& out, std::string_view text);

// The same, as a new string.
std::string json_string(std::string_view text);

}  // namespace relive::internal
