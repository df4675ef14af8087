// A small JSON value, reader and writer: enough for MXNet's symbol files (objects, arrays,
// strings, numbers, literals). Errors name the byte offset.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace axle {
namespace json {

struct Value {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = kNull;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Value> arr;
  std::vector<std::pair<std::string, Value>> obj;  // in file order

  const Value* Find(const std::string& key) const;  // nullptr when absent (objects only)
  bool is(Kind k) const { return kind == k; }
};

// Parses text; throws Error(AX_ERR_IO) naming `what` and the offset on malformed input.
Value Parse(const std::string& text, const std::string& what);

// Writes a JSON string literal (quotes and escapes).
void WriteString(std::string* out, const std::string& s);

}  // namespace json
}  // namespace axle
