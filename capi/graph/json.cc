#include "graph/json.h"

#include <cstdio>
#include <cstdlib>

#include "common/base.h"

namespace axle {
namespace json {

const Value* Value::Find(const std::string& key) const {
  for (auto& kv : obj)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {

class Reader {
 public:
  Reader(const std::string& t, const std::string& what) : t_(t), what_(what) {}

  Value Document() {
    Value v = Parse(0);
    Skip();
    if (p_ != t_.size()) Fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& msg) const {
    Throw(AX_ERR_IO, what_, ": malformed JSON at byte ", p_, ": ", msg);
  }
  void Skip() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\r' || t_[p_] == '\t')) ++p_;
  }
  char Peek() {
    Skip();
    if (p_ >= t_.size()) Fail("unexpected end of input");
    return t_[p_];
  }
  void Expect(char c) {
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++p_;
  }
  bool Literal(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (t_.compare(p_, n, word) != 0) return false;
    p_ += n;
    return true;
  }

  Value Parse(int depth) {
    if (depth > 512) Fail("nesting too deep");
    Value v;
    char c = Peek();
    if (c == '{') {
      ++p_;
      v.kind = Value::kObject;
      if (Peek() == '}') { ++p_; return v; }
      for (;;) {
        if (Peek() != '"') Fail("expected a string key");
        std::string key = String();
        Expect(':');
        v.obj.emplace_back(std::move(key), Parse(depth + 1));
        char d = Peek();
        ++p_;
        if (d == '}') break;
        if (d != ',') { --p_; Fail("expected ',' or '}'"); }
      }
    } else if (c == '[') {
      ++p_;
      v.kind = Value::kArray;
      if (Peek() == ']') { ++p_; return v; }
      for (;;) {
        v.arr.push_back(Parse(depth + 1));
        char d = Peek();
        ++p_;
        if (d == ']') break;
        if (d != ',') { --p_; Fail("expected ',' or ']'"); }
      }
    } else if (c == '"') {
      v.kind = Value::kString;
      v.str = String();
    } else if (Literal("true")) {
      v.kind = Value::kBool;
      v.b = true;
    } else if (Literal("false")) {
      v.kind = Value::kBool;
    } else if (Literal("null")) {
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const char* s = t_.c_str() + p_;
      char* e = nullptr;
      v.kind = Value::kNumber;
      v.num = std::strtod(s, &e);
      if (e == s) Fail("bad number");
      p_ += static_cast<size_t>(e - s);
    } else {
      Fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }

  std::string String() {
    ++p_;  // opening quote
    std::string s;
    for (;;) {
      if (p_ >= t_.size()) Fail("unterminated string");
      char c = t_[p_++];
      if (c == '"') return s;
      if (c != '\\') { s += c; continue; }
      if (p_ >= t_.size()) Fail("unterminated string");
      char e = t_[p_++];
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          if (p_ + 4 > t_.size()) Fail("bad \\u escape");
          unsigned cp = static_cast<unsigned>(std::strtoul(t_.substr(p_, 4).c_str(), nullptr, 16));
          p_ += 4;
          // UTF-8 encode (surrogate pairs are kept as two code points; names never need them)
          if (cp < 0x80) s += static_cast<char>(cp);
          else if (cp < 0x800) { s += static_cast<char>(0xC0 | (cp >> 6)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
          else {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default: Fail("bad escape");
      }
    }
  }

  const std::string& t_;
  const std::string& what_;
  size_t p_ = 0;
};

}  // namespace

Value Parse(const std::string& text, const std::string& what) { return Reader(text, what).Document(); }

void WriteString(std::string* out, const std::string& s) {
  *out += '"';
  for (char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          *out += c;
        }
    }
  }
  *out += '"';
}

}  // namespace json
}  // namespace axle
