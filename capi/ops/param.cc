#include "ops/param.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace axle {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n\r"), e = s.find_last_not_of(" \t\n\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Splits "(1, 2, None)" / "[1,2]" / "3" / "()" into trimmed items.
bool SplitTuple(const std::string& in, std::vector<std::string>* items) {
  std::string s = Trim(in);
  if (s.empty()) return false;
  if ((s.front() == '(' && s.back() == ')') || (s.front() == '[' && s.back() == ']')) s = s.substr(1, s.size() - 2);
  items->clear();
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string it = Trim(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) {
      if (!it.empty()) items->push_back(it);
      break;
    }
    if (it.empty()) return false;
    items->push_back(it);
    start = comma + 1;
  }
  return true;
}

}  // namespace

bool ParseValue(const std::string& in, int64_t* out) {
  std::string s = Trim(in);
  if (!s.empty() && (s.back() == 'L' || s.back() == 'l')) s.pop_back();  // Python 2 longs in old files
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool ParseValue(const std::string& s, int* out) {
  int64_t v;
  if (!ParseValue(s, &v) || v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ParseValue(const std::string& in, double* out) {
  std::string s = Trim(in);
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

bool ParseValue(const std::string& s, float* out) {
  double v;
  if (!ParseValue(s, &v)) return false;
  *out = static_cast<float>(v);
  return true;
}

bool ParseValue(const std::string& in, bool* out) {
  std::string s = Trim(in);
  if (s == "True" || s == "true" || s == "1") { *out = true; return true; }
  if (s == "False" || s == "false" || s == "0") { *out = false; return true; }
  return false;
}

bool ParseValue(const std::string& s, std::string* out) {
  *out = s;
  return true;
}

bool ParseValue(const std::string& in, OptInt* out) {
  std::string s = Trim(in);
  if (s == "None" || s.empty()) { *out = std::nullopt; return true; }
  int64_t v;
  if (!ParseValue(s, &v)) return false;
  *out = v;
  return true;
}

bool ParseValue(const std::string& s, IntTuple* out) {
  std::vector<std::string> items;
  if (!SplitTuple(s, &items)) return false;
  IntTuple r;
  for (auto& it : items) {
    int64_t v;
    if (!ParseValue(it, &v)) return false;
    r.push_back(v);
  }
  *out = std::move(r);
  return true;
}

bool ParseValue(const std::string& s, OptIntTuple* out) {
  std::vector<std::string> items;
  if (!SplitTuple(s, &items)) return false;
  OptIntTuple r;
  for (auto& it : items) {
    OptInt v;
    if (!ParseValue(it, &v)) return false;
    r.push_back(v);
  }
  *out = std::move(r);
  return true;
}

bool ParseValue(const std::string& in, OptDouble* out) {
  std::string s = Trim(in);
  if (s == "None" || s.empty()) { *out = std::nullopt; return true; }
  double v;
  if (!ParseValue(s, &v)) return false;
  *out = v;
  return true;
}

bool ParseValue(const std::string& in, OptBool* out) {
  std::string s = Trim(in);
  if (s == "None" || s.empty()) { *out = std::nullopt; return true; }
  bool v;
  if (!ParseValue(s, &v)) return false;
  *out = v;
  return true;
}

std::string FormatValue(int v) { return std::to_string(v); }
std::string FormatValue(int64_t v) { return std::to_string(v); }
std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  double back = std::strtod(buf, nullptr);
  for (int prec = 1; prec < 17; ++prec) {  // shortest text that reads back the same
    char b2[64];
    std::snprintf(b2, sizeof(b2), "%.*g", prec, v);
    if (std::strtod(b2, nullptr) == back) return b2;
  }
  return buf;
}
std::string FormatValue(float v) { return FormatValue(static_cast<double>(v)); }
std::string FormatValue(bool v) { return v ? "1" : "0"; }
std::string FormatValue(const std::string& v) { return v; }
std::string FormatValue(const OptInt& v) { return v ? std::to_string(*v) : "None"; }
std::string FormatValue(const OptDouble& v) { return v ? FormatValue(*v) : "None"; }
std::string FormatValue(const OptBool& v) { return v ? FormatValue(*v) : "None"; }
std::string FormatValue(const IntTuple& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}
std::string FormatValue(const OptIntTuple& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + FormatValue(v[i]);
  return s + ")";
}

const char* TypeName(const int*) { return "int"; }
const char* TypeName(const int64_t*) { return "long"; }
const char* TypeName(const double*) { return "double"; }
const char* TypeName(const float*) { return "float"; }
const char* TypeName(const bool*) { return "boolean"; }
const char* TypeName(const std::string*) { return "string"; }
const char* TypeName(const OptInt*) { return "int or None"; }
const char* TypeName(const IntTuple*) { return "Shape(tuple)"; }
const char* TypeName(const OptIntTuple*) { return "Shape(tuple)"; }
const char* TypeName(const OptDouble*) { return "double or None"; }
const char* TypeName(const OptBool*) { return "boolean or None"; }

}  // namespace axle
